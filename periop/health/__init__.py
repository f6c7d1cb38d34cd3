"""The health probe for load balancers and monitoring, and the tiny table it writes to."""
