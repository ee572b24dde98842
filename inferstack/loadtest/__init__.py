"""Load tests that end in an SLO verdict: Locust drives, inferstack judges and reports."""
