//! Population and store benchmark: generation time per million citizens, store memory per
//! citizen, and in-process lookup throughput against a plain `HashMap` baseline measured in the
//! same run.
//!
//! `cargo bench --bench population` (size: `VNPOP_BENCH_SIZE`, default 1,000,000).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    collections::HashMap,
    hint::black_box,
    sync::{
        atomic::{AtomicIsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::Request;
use vnpop::{
    audit::{recorder::ServedRecorder, AuditLog},
    domain::CccdNumber,
    population::{builtin_fixtures, generate, PopulationSpec},
    proto::{citizen_registry_server::CitizenRegistry, LookupByCccdRequest, RequestContext},
    registry::{Clock, RegistryService},
    security::{AgencyDirectory, Authenticator},
    store::CitizenStore,
};

/// Counts live heap bytes, so memory per citizen is measured, not estimated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LOOKUPS: usize = 2_000_000;
const RPC_CALLS: usize = 200_000;
const RPC_TASKS: usize = 64;

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn main() {
    let size: usize = std::env::var("VNPOP_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let spec = PopulationSpec {
        seed: 2026,
        size,
        reference_date: PopulationSpec::default_reference_date(),
    };
    println!(
        "vnpop population benchmark: {size} citizens, {} threads",
        rayon::current_num_threads()
    );

    // Warm the embedded tables so their parse is not counted.
    let _ = generate(PopulationSpec { size: 10, ..spec }, &[]);
    let fixtures = builtin_fixtures();
    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut citizens = generate(spec, &fixtures);
    let generation = started.elapsed();
    citizens.extend(fixtures);
    let store = CitizenStore::from_citizens(citizens);
    let total = started.elapsed();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    let per_million = |d: Duration| d.as_secs_f64() * 1e6 / size as f64;
    println!(
        "generation:            {:.2} s per million citizens",
        per_million(generation)
    );
    println!(
        "generation + store:    {:.2} s per million citizens",
        per_million(total)
    );
    println!(
        "store memory:          {:.0} bytes per citizen ({:.0} MiB in all)",
        bytes as f64 / store.len() as f64,
        bytes as f64 / (1 << 20) as f64
    );

    // Lookup keys: a random sample of existing numbers.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let all: Vec<CccdNumber> = generate(
        PopulationSpec {
            size: 100_000,
            ..spec
        },
        &builtin_fixtures(),
    )
    .iter()
    .map(|c| c.cccd)
    .collect();
    let keys: Vec<CccdNumber> = (0..LOOKUPS)
        .map(|_| all[rng.random_range(0..all.len())])
        .collect();

    // Baseline: a plain HashMap of the same records (single-threaded, no sharding, no locks).
    let baseline: HashMap<CccdNumber, Arc<vnpop::domain::Citizen>> = all
        .iter()
        .filter_map(|k| store.get(*k).map(|c| (*k, c)))
        .collect();
    let started = Instant::now();
    for key in &keys {
        black_box(baseline.get(key).map(Arc::clone));
    }
    let baseline_rate = rate(LOOKUPS, started.elapsed());

    let started = Instant::now();
    for key in &keys {
        black_box(store.get(*key));
    }
    let store_rate = rate(LOOKUPS, started.elapsed());

    let threads = 2;
    let started = Instant::now();
    std::thread::scope(|s| {
        for chunk in keys.chunks(LOOKUPS / threads) {
            let store = &store;
            s.spawn(move || {
                for key in chunk {
                    black_box(store.get(*key));
                }
            });
        }
    });
    let parallel_rate = rate(LOOKUPS, started.elapsed());

    // The whole RPC handler in process (no network, no TLS): identify, context, parse, get,
    // scope, and the durable audit record of the call (group-committed, so callers run
    // concurrently, as they would on a server).
    let directory = AgencyDirectory::development();
    let desk = directory.by_id("one-stop-ba-dinh").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditLog::open(data_dir.path()).unwrap());
    let service = Arc::new(RegistryService::new(
        Arc::new(store),
        Arc::new(Authenticator::insecure(directory, desk)),
        Arc::new(ServedRecorder::new(audit, [7; 32]).unwrap()),
        Clock::System,
    ));
    let keys = Arc::new(keys);
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..RPC_TASKS)
            .map(|task| {
                let (service, keys) = (Arc::clone(&service), Arc::clone(&keys));
                tokio::spawn(async move {
                    for i in (task..RPC_CALLS).step_by(RPC_TASKS) {
                        let request = Request::new(LookupByCccdRequest {
                            context: Some(RequestContext {
                                dossier_id: format!("BENCH-{i}"),
                                purpose: "benchmark".into(),
                                officer_id: "officer-1".into(),
                                load_test: true,
                            }),
                            cccd_number: keys[i].to_string(),
                        });
                        black_box(service.lookup_by_cccd(request).await.unwrap());
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let rpc_rate = rate(RPC_CALLS, started.elapsed());

    println!();
    println!(
        "{:<44} {:>14} {:>10}",
        "in-process lookups", "per second", "ratio"
    );
    for (name, value) in [
        ("HashMap::get, 1 thread (baseline)", baseline_rate),
        ("CitizenStore::get, 1 thread", store_rate),
        ("CitizenStore::get, 2 threads", parallel_rate),
        ("LookupByCccd handler + audit, 64 tasks", rpc_rate),
    ] {
        println!("{name:<44} {value:>14.0} {:>10.2}", value / baseline_rate);
    }
}
