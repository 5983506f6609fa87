"""HubSpot connector (``hubspot-api-client``): client wiring, pull streams, write-back, schema."""
