"""The service proxy: Services reached from the host (NodePort, LoadBalancer); later ClusterIPs and Ingress."""
