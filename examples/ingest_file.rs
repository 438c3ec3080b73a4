//! Ingest an NDJSON file and query it, with the embedded engine in a
//! temporary directory:
//!
//! ```sh
//! cargo run --example ingest_file -- testdata/loghub/hdfs_2k.ndjson 'level:warn AND "got exception"'
//! ```
//!
//! Prints how many records match and the newest few.

use logingest::{Engine, SearchRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, query] = &args[..] else {
        return Err("usage: ingest_file FILE.ndjson QUERY".into());
    };
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    // In requests of 5,000 lines, as a shipper would send them.
    for lines in std::fs::read_to_string(file)?
        .lines()
        .collect::<Vec<_>>()
        .chunks(5_000)
    {
        engine.ingest_json(lines.join("\n").as_bytes())?;
    }
    engine.flush()?; // everything ingested is durable and searchable
    let page = engine.search(&SearchRequest::parse(query)?.limit(3))?;
    println!(
        "{} of {} records match {query}",
        page.total,
        engine.stats()?.records
    );
    for hit in &page.hits {
        println!("{}", hit.source);
    }
    Ok(engine.close()?)
}
