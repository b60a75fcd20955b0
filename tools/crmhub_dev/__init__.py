"""Developer tools, not part of the product: the sandbox vendor APIs and data generator, the demo,
and a local Airflow for the demo and the tests. Installed by the README's commands; never imported by
``crmhub`` (an import contract, tests/contracts) and left out of the production image."""
