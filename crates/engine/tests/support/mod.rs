pub mod market_chain;
