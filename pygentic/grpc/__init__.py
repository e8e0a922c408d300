"""The gRPC front door: servicers (one module per service), interceptors and server assembly."""
