"""Source plugins behind one interface (``crmhub.connectors.base.Connector``), found by ``registry``."""
