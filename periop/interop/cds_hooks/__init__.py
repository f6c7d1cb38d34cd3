"""CDS Hooks 2.0.1: discovery, the `periop-nmj` service (order-select, order-sign) and feedback."""
