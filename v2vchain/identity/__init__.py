"""Who a vehicle is: its DID, the issuer's credentials and the presentations vehicles exchange at a meeting."""
