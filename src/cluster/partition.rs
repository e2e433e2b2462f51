//! Pure: the sources split into partitions, the unit a member holds a lease on.
//!
//! Sources that may request one host (their configured URLs' hosts and `allow_hosts`, `www.`
//! ignored; links never leave them) are in one partition, so every request to a host is made by
//! the single member that holds its partition, and robots.txt, Crawl-delay, `min_delay`,
//! `max_concurrency` and Retry-After, which a process keeps per host, hold across the cluster.
//! A folder source is a partition of its own.

use std::collections::HashMap;

use crate::sources::SourceSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The lease's key: stable for the same set of sources, valid as a KV key.
    pub key: String,
    /// Its sources' names, sorted.
    pub sources: Vec<String>,
}

/// The partitions of `specs`, sorted by key.
pub fn partitions(specs: &[SourceSpec]) -> Vec<Partition> {
    let hosts: Vec<Vec<String>> = specs.iter().map(SourceSpec::hosts).collect();
    partitions_of(specs.iter().map(|s| s.id.as_str()).zip(hosts.iter().map(Vec::as_slice)))
}

/// Groups `(source, hosts)` by shared hosts (union-find, near-linear in the number of hosts).
fn partitions_of<'a>(sources: impl Iterator<Item = (&'a str, &'a [String])>) -> Vec<Partition> {
    let sources: Vec<(&str, &[String])> = sources.collect();
    let mut parent: Vec<usize> = (0..sources.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, (_, hosts)) in sources.iter().enumerate() {
        for h in *hosts {
            match owner.get(h.as_str()) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(h, i);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<String>> = HashMap::new();
    for (i, (name, _)) in sources.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push((*name).to_string());
    }
    let mut out: Vec<Partition> = groups
        .into_values()
        .map(|mut names| {
            names.sort();
            let digest = blake3::hash(names.join("\n").as_bytes()).to_hex();
            let first: String = names[0]
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(40)
                .collect();
            Partition {
                key: format!("part.{first}.{}", &digest[..8]),
                sources: names,
            }
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// How many of `partitions` the member of rank `rank` (0-based, members sorted by name) among
/// `members` holds: an even split, the first `partitions % members` taking one more, so the
/// shares add up to every partition and a member that joins always gets some (while there are
/// at least as many partitions as members).
pub fn share(partitions: usize, members: usize, rank: usize) -> usize {
    let members = members.max(1);
    partitions / members + usize::from(rank < partitions % members)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn sources_sharing_a_host_share_a_partition() {
        let table = [
            ("a-feed", hosts(&["baoquangnam.vn"])),
            ("a-sitemap", hosts(&["baoquangnam.vn", "cdn.baoquangnam.vn"])),
            ("b", hosts(&["vietnam.vn"])),
            ("c", hosts(&["cdn.baoquangnam.vn"])),
            ("seeds", hosts(&[])),
            ("d", hosts(&["baonghean.vn", "vietnam.vn"])),
        ];
        let parts = partitions_of(table.iter().map(|(n, h)| (*n, h.as_slice())));
        let groups: Vec<Vec<&str>> = parts
            .iter()
            .map(|p| p.sources.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            groups,
            [vec!["a-feed", "a-sitemap", "c"], vec!["b", "d"], vec!["seeds"]]
        );
        // Keys are stable and differ when the set of sources differs.
        let again = partitions_of(table.iter().rev().map(|(n, h)| (*n, h.as_slice())));
        assert_eq!(parts, again);
        let fewer = partitions_of(table[..2].iter().map(|(n, h)| (*n, h.as_slice())));
        assert_ne!(fewer[0].key, parts[0].key);
        assert!(parts[0].key.starts_with("part.a-feed."));
    }

    #[test]
    fn shares_split_every_partition_evenly_by_rank() {
        for (partitions, members) in [(50, 3), (50, 4), (4, 3), (3, 5), (0, 2), (200, 7)] {
            let shares: Vec<usize> = (0..members).map(|r| share(partitions, members, r)).collect();
            assert_eq!(shares.iter().sum::<usize>(), partitions, "{shares:?}");
            let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            assert!(hi - lo <= 1, "{partitions} over {members}: {shares:?}");
        }
        assert_eq!(
            [0, 1, 2].map(|r| share(4, 3, r)),
            [2, 1, 1],
            "a joiner gets one of four"
        );
        assert_eq!(share(3, 0, 0), 3);
    }
}
