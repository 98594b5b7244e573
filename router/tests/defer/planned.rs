//! The real planner on the fixture supergraph, end to end.
