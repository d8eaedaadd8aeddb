"""Customer portal: submit, follow and answer tickets."""
