"""Social CRM Hub: join CRM and social-media data into one reconciled history warehouse.

The core (everything except ``crmhub.orchestration``) imports no Airflow, so normalize, match,
survive, validate and load can be called and tested without a scheduler.
"""

__version__ = "0.1.0"
