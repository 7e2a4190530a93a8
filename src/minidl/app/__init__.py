"""The application: the minidl command line and what its commands do with runs."""
