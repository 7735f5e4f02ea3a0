//! lagctl: administer lagd aggregations (dladm-style).
