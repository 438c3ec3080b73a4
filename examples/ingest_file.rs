//! Ingest an NDJSON file and query it, with the embedded engine in a
//! temporary directory:
//!
//! ```sh
//! cargo run --example ingest_file -- testdata/loghub/hdfs_2k.ndjson 'level:warn AND "got exception"'
//! ```
//!
//! Prints how many records match and the newest few.

use std::io::BufRead;

use logingest::{Engine, SearchRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(query)) = (args.next(), args.next()) else {
        return Err("usage: ingest_file FILE.ndjson QUERY".into());
    };
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;
    // In requests of 5,000 lines, as a shipper would send them.
    let mut lines = std::io::BufReader::new(std::fs::File::open(&file)?).lines();
    loop {
        let chunk = lines.by_ref().take(5_000).collect::<Result<Vec<_>, _>>()?;
        if chunk.is_empty() {
            break;
        }
        engine.ingest_json(chunk.join("\n").as_bytes())?;
    }
    engine.flush()?; // everything ingested is durable and searchable
    let page = engine.search(&SearchRequest::parse(&query)?.limit(3))?;
    let stored = engine.stats()?.records;
    println!("{} of {stored} records match {query}", page.total);
    for hit in &page.hits {
        println!("{}", hit.source);
    }
    engine.close()?;
    Ok(())
}
