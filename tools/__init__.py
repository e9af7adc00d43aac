"""Developer tooling behind the Makefile: .env files, database setup, starting and stopping the stack."""
