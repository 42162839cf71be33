"""Reliability and security suite (issue 6): planner properties, seeded randomized
multi-client runs, crash at every named point, injected network faults, hostile names
and files, bad configuration, and secret scans. Shared invariant checks live in
:mod:`tests.reliability.harness`; the fault-injecting proxy in
:mod:`tests.reliability.faults`.
"""
