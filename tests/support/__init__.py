"""Helpers and fakes shared by the test suites, one module per area.

``tests.support.<area>`` holds what more than one test module of that area
needs (fakes of a service, recorders, fault cases), so no test copies another.
"""
