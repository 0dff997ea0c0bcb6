"""The kube-scheduler: filter and score plugins as pure functions, a cache of placements, a binder."""

from boxk8s.scheduler.plan import ScheduleResult, plan_schedule
from boxk8s.scheduler.scheduler import Scheduler, SchedulerSettings

__all__ = ["ScheduleResult", "Scheduler", "SchedulerSettings", "plan_schedule"]
