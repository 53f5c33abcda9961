"""
A platform that exists only for tests: the living example of docs/ARCHITECTURE.md "How to add a
platform", file for file, and the platform the core's tests run against through real task runs.

| step | a real platform | here |
| --- | --- | --- |
| hook | ``hooks/<platform>.py`` | ``hook.py`` |
| trigger | ``triggers/<platform>.py`` | ``trigger.py`` |
| operator | ``operators/<platform>.py`` | ``operator.py`` |
| sensor | ``sensors/<platform>.py`` | ``sensor.py`` |
| link | ``links/<platform>.py`` | ``link.py`` |
| emulator | ``emulators/<platform>.py`` | ``emulator.py`` (fixtures: ``conftest.py``) |
| declaration, registration line | ``platforms.py`` | ``platform.py`` |
| example DAG | ``example_dags/example_<platform>.py`` | ``example_dag.py`` |
| tests | ``tests/...`` | ``test_example_platform.py`` |
"""
