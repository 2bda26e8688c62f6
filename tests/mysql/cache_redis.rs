include!("../suite/cache_redis.rs");
