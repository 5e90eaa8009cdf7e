//! The admin console's lists (clients, users): one page at a time of the
//! records whose key or labels (KV metadata, [`Record::metadata`]) contain
//! what was searched for. KV can only list keys by prefix, so a search
//! reads the keys in order and keeps the ones that match; each request
//! looks at a bounded number of keys and records and hands back a cursor
//! where it stopped, so a large store costs more pages, never a slow one.

use super::{Listed, Record, RecordList, StoreResult};
use crate::protocol::encoding::{b64url, b64url_decode};
use serde_json::Value;

/// The most rows a page shows.
pub const SHOWN: usize = 50;
/// The most keys one request looks at: one KV `list` call.
const SCANNED: usize = 1000;
/// The most records one request reads for want of metadata (records last
/// written before records had any).
const READS: usize = 50;

/// One page of a list: each match's key and labels (an object, empty when
/// the record has none), and where the next page begins, if the list goes
/// on. A page may show fewer than [`SHOWN`] rows and still have a next one,
/// when a search had to stop looking.
#[derive(Debug, Default, PartialEq)]
pub struct Page {
    pub rows: Vec<(String, Value)>,
    pub next: Option<String>,
}

/// Where a page begins: a KV cursor (none for the first KV page) and how
/// many keys of that KV page earlier pages took. Opaque to the browser:
/// base64url of `<taken>.<cursor>`, safe in a query string.
#[derive(Debug, Default, PartialEq)]
struct Position {
    cursor: Option<String>,
    taken: usize,
}

impl Position {
    fn encode(&self) -> String {
        b64url(format!("{}.{}", self.taken, self.cursor.as_deref().unwrap_or_default()).as_bytes())
    }

    /// `None` for a cursor we did not make.
    fn decode(s: &str) -> Option<Self> {
        let text = String::from_utf8(b64url_decode(s)?).ok()?;
        let (taken, cursor) = text.split_once('.')?;
        Some(Position {
            taken: taken.parse().ok()?,
            cursor: Some(cursor.to_owned()).filter(|c| !c.is_empty()),
        })
    }
}

/// Whether `query` (lower-cased) is in the key or in any label.
fn matches(query: &str, key: &str, labels: &Value) -> bool {
    let has = |s: &str| s.to_lowercase().contains(query);
    query.is_empty()
        || has(key)
        || labels
            .as_object()
            .is_some_and(|m| m.values().filter_map(Value::as_str).any(has))
}

/// The page of records of `store` matching `query` (case-insensitive
/// substring of the key or a label) that begins at `from` (a [`Page::next`]
/// of before, or `None` for the first). `None` when `from` is not a cursor
/// of ours. Keys added or removed while someone pages may be missed or
/// shown twice, as KV's own cursors allow.
pub async fn page<R: Record>(store: &dyn RecordList<R>, query: &str, from: Option<&str>) -> StoreResult<Option<Page>> {
    let Some(mut at) = from.map_or(Some(Position::default()), Position::decode) else {
        return Ok(None);
    };
    let query = query.trim().to_lowercase();
    let (mut rows, mut scanned, mut reads) = (Vec::new(), 0, 0);
    loop {
        let (keys, next) = store.keys("", at.cursor.clone(), SCANNED).await?;
        for (i, Listed { key, metadata }) in keys.into_iter().enumerate().skip(at.taken) {
            if rows.len() == SHOWN || scanned == SCANNED || reads == READS {
                at.taken = i;
                return Ok(Some(Page {
                    rows,
                    next: Some(at.encode()),
                }));
            }
            scanned += 1;
            let labels = match metadata {
                Some(labels) => labels,
                None => {
                    reads += 1;
                    match store.get(&key).await? {
                        Some(record) => record.metadata().unwrap_or_else(|| Value::Object(Default::default())),
                        // Gone since it was listed.
                        None => continue,
                    }
                }
            };
            if matches(&query, &key, &labels) {
                rows.push((key, labels));
            }
        }
        match next {
            Some(cursor) => {
                at = Position {
                    cursor: Some(cursor),
                    taken: 0,
                }
            }
            None => return Ok(Some(Page { rows, next: None })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{labels, RecordStore};
    use futures::executor::block_on;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Serialize, Deserialize)]
    struct Thing {
        key: String,
        name: Option<String>,
    }

    impl Record for Thing {
        const PREFIX: &'static str = "thing:";
        fn key(&self) -> &str {
            &self.key
        }
        fn metadata(&self) -> Option<Value> {
            labels(&[("name", self.name.as_deref())])
        }
    }

    fn store(n: usize) -> MemoryStore<Thing> {
        let store = MemoryStore::default();
        for i in 0..n {
            let name = (i % 3 == 0).then(|| format!("Name {i}"));
            block_on(store.put(&Thing {
                key: format!("k{i:04}"),
                name,
            }))
            .unwrap();
        }
        store
    }

    /// Every row of every page from the first on, and how many pages.
    fn all(store: &MemoryStore<Thing>, query: &str) -> (Vec<String>, usize) {
        let (mut keys, mut from, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = block_on(page(store, query, from.as_deref())).unwrap().unwrap();
            pages += 1;
            assert!(page.rows.len() <= SHOWN);
            keys.extend(page.rows.into_iter().map(|(k, _)| k));
            match page.next {
                Some(next) => from = Some(next),
                None => return (keys, pages),
            }
        }
    }

    #[test]
    fn pages_cover_every_record_once_in_key_order() {
        let store = store(123);
        let (keys, pages) = all(&store, "");
        assert_eq!(keys, (0..123).map(|i| format!("k{i:04}")).collect::<Vec<_>>());
        assert_eq!(pages, 3, "50 + 50 + 23");
    }

    #[test]
    fn a_search_matches_key_or_label_case_insensitively() {
        let store = store(40);
        assert_eq!(all(&store, "NAME 3").0, ["k0003", "k0030", "k0033", "k0036", "k0039"]);
        assert_eq!(all(&store, " k001").0.len(), 10, "trimmed, by key");
        assert!(all(&store, "nothing like it").0.is_empty());
    }

    #[test]
    fn labels_come_with_the_rows() {
        let store = store(4);
        let page = block_on(page(&store, "", None)).unwrap().unwrap();
        assert_eq!(page.rows[0].1["name"], "Name 0");
        assert_eq!(page.rows[1].1, serde_json::json!({}), "a record without a name");
    }

    #[test]
    fn a_cursor_not_ours_is_refused() {
        let store = store(3);
        for bad in ["", "!!", "bm8tZG90", "eC5j"] {
            assert_eq!(block_on(page(&store, "", Some(bad))).unwrap(), None, "{bad}");
        }
    }

    #[test]
    fn labels_are_cut_to_fit_kv_metadata() {
        let long = "é".repeat(500);
        let value = labels(&[("name", Some(&long)), ("email", None), ("x", Some("y"))]).unwrap();
        assert_eq!(value["name"].as_str().unwrap().chars().count(), 120);
        assert!(value.get("email").is_none());
        assert!(serde_json::to_string(&value).unwrap().len() < 1024);
    }
}
