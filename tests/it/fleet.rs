//! The two-tier RELP setup (placeholder until written).
