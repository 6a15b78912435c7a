"""The merchant API's authentication (secret keys) and account endpoint."""
