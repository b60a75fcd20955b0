"""Local fake vendor APIs (HubSpot, Salesforce, Dynamics 365, Hootsuite, Sprout Social) and legacy CSV
export files over seeded data with known ground truth.

No machine here reaches the real vendors, and no demo should run against production; these servers
speak the vendors' documented wire formats so connectors and official SDKs work against them unchanged.
"""

from crmhub_dev.sandbox.datagen import SandboxData, generate
from crmhub_dev.sandbox.hootsuite import HootsuiteSettings, create_hootsuite_app
from crmhub_dev.sandbox.hubspot import HubSpotSettings, create_hubspot_app
from crmhub_dev.sandbox.server import SandboxServer

__all__ = [
    "HootsuiteSettings",
    "HubSpotSettings",
    "SandboxData",
    "SandboxServer",
    "create_hootsuite_app",
    "create_hubspot_app",
    "generate",
]
