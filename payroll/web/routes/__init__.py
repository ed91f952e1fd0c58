"""One module per page family; each exports `routes`."""
