//! A campaign's messages over time: per-minute counters of messages the provider accepted,
//! delivered and failed, and the series a dashboard draws from them.
//!
//! Each answered message record adds to the minutes of what happened to it: `sent` at the
//! minute the provider accepted it (`answered_at`, whatever became of it since), `delivered`
//! at the minute of its delivery receipt (`status_at`), `failed` at the minute it failed
//! (`status_at` for a receipt, else `answered_at` for a refusal). Like the step statistics
//! (see [`super`]), the counters move with before/after deltas, so a record written over
//! another keeps them exact: a delivery leaves the `sent` minute where it was and adds to
//! its own minute; a throttled try answered again gives its `failed` minute back.
//!
//! Minutes are whole minutes since the Unix epoch, as a big-endian `u32` in the key (instants
//! before 1970 or past the year 10,000 are not counted). `sent` here counts every accepted
//! message, so a message reported undelivered counts in `sent` and in `failed`; the step
//! statistics count a message under its latest status only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ACTIVITY_TAG, count, tagged_prefix};
use crate::records::{CampaignId, MessageRecord, MessageStatus};
use crate::store::{Store, StoreError, Table};

/// What a campaign's messages did in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// Messages the provider accepted.
    pub sent: u64,
    /// Messages confirmed delivered.
    pub delivered: u64,
    /// Messages refused by the provider or reported undelivered (every failed try).
    pub failed: u64,
}

impl std::ops::AddAssign for Activity {
    fn add_assign(&mut self, other: Self) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.failed += other.failed;
    }
}

/// One field of [`Activity`], as its key byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Sent = 0,
    Delivered = 1,
    Failed = 2,
}

/// The most points a series has.
pub const MAX_POINTS: i64 = 1_000;
/// About how many points a series has when its bucket is not asked for.
pub const DEFAULT_POINTS: i64 = 240;
/// Bucket sizes (minutes) a series picks from when none is asked for; past the last, whole
/// days.
const NICE_MINUTES: [i64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1_440];
const DAY_MINUTES: i64 = 1_440;

/// A series could not be made as asked.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    /// The bucket is not a whole number of minutes (or is zero).
    #[error("bucket {0} is not a positive multiple of 60 seconds")]
    Bucket(u64),
    /// `since` is after `until`.
    #[error("since {since} is after until {until}")]
    Order {
        /// The start asked for.
        since: DateTime<Utc>,
        /// The end asked for.
        until: DateTime<Utc>,
    },
    /// The range holds more buckets than a series may have.
    #[error(
        "{from} to {to} in buckets of {bucket_seconds} seconds is {points} points; at most \
         {MAX_POINTS}: ask for a larger bucket or a shorter range"
    )]
    TooManyPoints {
        /// The first bucket.
        from: DateTime<Utc>,
        /// The last bucket.
        to: DateTime<Utc>,
        /// The bucket asked for.
        bucket_seconds: u64,
        /// How many buckets that is.
        points: i64,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a series should cover; every part is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesRequest {
    /// From the bucket holding this instant (default: the first minute with activity).
    pub since: Option<DateTime<Utc>>,
    /// Through the bucket holding this instant (default: the last minute with activity).
    pub until: Option<DateTime<Utc>>,
    /// Bucket size in seconds, a multiple of 60 (default: the smallest of 1, 2, 5, 10, 15, 30
    /// minutes, 1, 2, 3, 6, 12 hours or whole days that gives at most [`DEFAULT_POINTS`]).
    pub bucket_seconds: Option<u64>,
}

/// A campaign's activity in buckets of equal size, aligned on multiples of the bucket since
/// the epoch, every bucket from the first to the last present (empty ones as zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The bucket size.
    pub bucket_seconds: u64,
    /// Each bucket's start and what happened in it (whole buckets, even at the edges).
    pub points: Vec<(DateTime<Utc>, Activity)>,
}

/// The minute of an instant as keys hold it; `None` outside the keys' range.
fn minute_of(at: DateTime<Utc>) -> Option<u32> {
    u32::try_from(at.timestamp().div_euclid(60)).ok()
}

/// The minute of an instant, clamped to the keys' range (for query bounds).
fn clamped_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60).clamp(0, i64::from(u32::MAX))
}

fn start_of(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(minute.saturating_mul(60), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `campaign · 0xFB · minute · field`.
fn activity_key(campaign: CampaignId, minute: u32, field: Field) -> Vec<u8> {
    let mut key = tagged_prefix(campaign, ACTIVITY_TAG).to_vec();
    key.extend_from_slice(&minute.to_be_bytes());
    key.push(field as u8);
    key
}

/// The counter keys one message record adds one to.
pub(super) fn contribution(message: &MessageRecord) -> Vec<Vec<u8>> {
    let campaign = message.outbound.campaign;
    let mut keys = Vec::new();
    let mut add = |at: Option<DateTime<Utc>>, field: Field| {
        if let Some(minute) = at.and_then(minute_of) {
            keys.push(activity_key(campaign, minute, field));
        }
    };
    if message.provider_id.is_some() {
        add(message.answered_at, Field::Sent);
    }
    let settled = message.status_at.or(message.answered_at);
    match message.status {
        MessageStatus::Delivered => add(settled, Field::Delivered),
        MessageStatus::Failed => add(settled, Field::Failed),
        MessageStatus::Sending | MessageStatus::Sent | MessageStatus::Unknown => {}
    }
    keys
}

/// The smallest bucket (minutes) from [`NICE_MINUTES`], then whole days, that splits
/// `first..=last` into at most [`DEFAULT_POINTS`] buckets.
fn default_bucket(first: i64, last: i64) -> i64 {
    let points = |bucket: i64| last.div_euclid(bucket) - first.div_euclid(bucket) + 1;
    if let Some(bucket) = NICE_MINUTES
        .into_iter()
        .find(|b| points(*b) <= DEFAULT_POINTS)
    {
        return bucket;
    }
    let span = last - first + 1;
    let mut days = (span / (DAY_MINUTES * (DEFAULT_POINTS - 1))).max(1);
    while points(days * DAY_MINUTES) > DEFAULT_POINTS {
        days += 1;
    }
    days * DAY_MINUTES
}

/// Buckets per-minute activity as `request` asks. `minutes` must hold every minute with
/// activity of the buckets the series covers (see [`Store::activity_series`]); the bounds of
/// the series come from `request`, else from `minutes`.
pub fn series(
    minutes: &BTreeMap<i64, Activity>,
    request: &SeriesRequest,
) -> Result<Series, SeriesError> {
    let bucket = bucket_minutes(request)?;
    let first = request
        .since
        .map(clamped_minute)
        .or_else(|| minutes.keys().next().copied());
    let last = request
        .until
        .map(clamped_minute)
        .or_else(|| minutes.keys().next_back().copied());
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(Series {
            bucket_seconds: seconds(bucket.unwrap_or(1)),
            points: Vec::new(),
        });
    };
    if first > last {
        return Ok(Series {
            bucket_seconds: seconds(bucket.unwrap_or(1)),
            points: Vec::new(),
        });
    }
    let bucket = bucket.unwrap_or_else(|| default_bucket(first, last));
    let (start, end) = (
        first.div_euclid(bucket) * bucket,
        last.div_euclid(bucket) * bucket,
    );
    let points = (end - start) / bucket + 1;
    if points > MAX_POINTS {
        return Err(SeriesError::TooManyPoints {
            from: start_of(start),
            to: start_of(end),
            bucket_seconds: seconds(bucket),
            points,
        });
    }
    let mut buckets = vec![Activity::default(); usize::try_from(points).unwrap_or_default()];
    for (minute, activity) in minutes.range(start..end.saturating_add(bucket)) {
        let index = (minute.div_euclid(bucket) * bucket - start) / bucket;
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| buckets.get_mut(i)) {
            *slot += *activity;
        }
    }
    Ok(Series {
        bucket_seconds: seconds(bucket),
        points: buckets
            .into_iter()
            .enumerate()
            .map(|(i, activity)| (start_of(start + i as i64 * bucket), activity))
            .collect(),
    })
}

fn seconds(minutes: i64) -> u64 {
    u64::try_from(minutes).unwrap_or_default() * 60
}

/// The bucket asked for, in minutes; checks the request.
fn bucket_minutes(request: &SeriesRequest) -> Result<Option<i64>, SeriesError> {
    if let (Some(since), Some(until)) = (request.since, request.until)
        && since > until
    {
        return Err(SeriesError::Order { since, until });
    }
    request
        .bucket_seconds
        .map(|bucket| {
            // Past the keys' whole range a bucket is one point anyway: cap it there.
            let minutes = bucket / 60;
            if bucket == 0 || bucket % 60 != 0 {
                return Err(SeriesError::Bucket(bucket));
            }
            Ok(i64::try_from(minutes)
                .unwrap_or(i64::MAX)
                .min(i64::from(u32::MAX) + 1))
        })
        .transpose()
}

impl Store {
    /// A campaign's activity by minute since the epoch, for the minutes `from..=to` (only
    /// minutes with some).
    pub fn activity(
        &self,
        campaign: CampaignId,
        from: i64,
        to: i64,
    ) -> Result<BTreeMap<i64, Activity>, StoreError> {
        let mut minutes: BTreeMap<i64, Activity> = BTreeMap::new();
        let (from, to) = (from.max(0), to.min(i64::from(u32::MAX)));
        if from > to {
            return Ok(minutes);
        }
        // Scan only the keys the two bounds share a prefix with: minutes are big-endian.
        let low = activity_key(campaign, u32::try_from(from).unwrap_or(0), Field::Sent);
        let high = activity_key(campaign, u32::try_from(to).unwrap_or(u32::MAX), Field::Sent);
        let shared = low.iter().zip(&high).take_while(|(a, b)| a == b).count();
        let prefix_len = tagged_prefix(campaign, ACTIVITY_TAG).len();
        for entry in self.backend().scan(Table::Counters, &low[..shared]) {
            let (key, value) = entry?;
            let (Some(minute), Some(field)) = (
                key.get(prefix_len..prefix_len + 4)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(|b| i64::from(u32::from_be_bytes(b))),
                key.get(prefix_len + 4),
            ) else {
                continue;
            };
            if minute < from {
                continue;
            }
            if minute > to {
                break;
            }
            let n = count(&value);
            if n == 0 {
                continue;
            }
            let slot = minutes.entry(minute).or_default();
            match *field {
                f if f == Field::Sent as u8 => slot.sent = n,
                f if f == Field::Delivered as u8 => slot.delivered = n,
                f if f == Field::Failed as u8 => slot.failed = n,
                _ => {}
            }
        }
        Ok(minutes)
    }

    /// A campaign's activity as a [`Series`]: the minutes of the range asked for are read,
    /// then those the edge buckets add, so every bucket counts whole.
    pub fn activity_series(
        &self,
        campaign: CampaignId,
        request: &SeriesRequest,
    ) -> Result<Series, SeriesError> {
        bucket_minutes(request)?;
        let from = request.since.map_or(0, clamped_minute);
        let to = request.until.map_or(i64::from(u32::MAX), clamped_minute);
        let mut minutes = self.activity(campaign, from, to)?;
        let first_try = series(&minutes, request)?;
        let bucket = i64::try_from(first_try.bucket_seconds / 60)
            .unwrap_or(1)
            .max(1);
        let (Some((first, _)), Some((last, _))) =
            (first_try.points.first(), first_try.points.last())
        else {
            return Ok(first_try);
        };
        let (start, end) = (
            first.timestamp().div_euclid(60),
            last.timestamp().div_euclid(60).saturating_add(bucket - 1),
        );
        if start >= from && end <= to {
            return Ok(first_try);
        }
        if start < from {
            minutes.extend(self.activity(campaign, start, from - 1)?);
        }
        if end > to {
            minutes.extend(self.activity(campaign, to + 1, end)?);
        }
        series(&minutes, request)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn minute(hour: u32, min: u32) -> i64 {
        Utc.with_ymd_and_hms(2026, 12, 7, hour, min, 0)
            .single()
            .map_or(0, |at| at.timestamp() / 60)
    }

    fn sent(n: u64) -> Activity {
        Activity {
            sent: n,
            ..Activity::default()
        }
    }

    #[test]
    fn the_minute_of_an_instant_is_its_floor() {
        let at = |s: i64| DateTime::from_timestamp(s, 999_999_999).unwrap_or_default();
        assert_eq!(minute_of(at(119)), Some(1));
        assert_eq!(minute_of(at(120)), Some(2));
        assert_eq!(minute_of(at(-1)), None, "before 1970");
        assert_eq!(clamped_minute(at(-61)), 0);
    }

    #[test]
    fn buckets_align_on_the_epoch_fill_gaps_and_count_whole_edges() {
        let minutes = BTreeMap::from([
            (minute(15, 4), sent(1)),
            (minute(15, 5), sent(2)),
            (minute(15, 9), sent(4)),
            (minute(15, 21), sent(8)),
        ]);
        let request = SeriesRequest {
            bucket_seconds: Some(300),
            ..SeriesRequest::default()
        };
        let series = series(&minutes, &request).expect("series");
        assert_eq!(series.bucket_seconds, 300);
        let got: Vec<(i64, u64)> = series
            .points
            .iter()
            .map(|(at, a)| (at.timestamp() / 60, a.sent))
            .collect();
        assert_eq!(
            got,
            [
                (minute(15, 0), 1),
                (minute(15, 5), 6),
                (minute(15, 10), 0),
                (minute(15, 15), 0),
                (minute(15, 20), 8),
            ]
        );
        // `since` in the middle of a bucket still gets the whole bucket.
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 7, h, m, 30).single();
        let request = SeriesRequest {
            since: at(15, 7),
            until: at(15, 12),
            bucket_seconds: Some(300),
        };
        let got: Vec<u64> = series_of(&minutes, &request);
        assert_eq!(got, [6, 0]);
    }

    fn series_of(minutes: &BTreeMap<i64, Activity>, request: &SeriesRequest) -> Vec<u64> {
        series(minutes, request)
            .expect("series")
            .points
            .iter()
            .map(|(_, a)| a.sent)
            .collect()
    }

    #[test]
    fn the_store_reads_the_whole_edge_buckets_of_a_range() {
        use crate::store::Changes;
        let store = Store::temporary().expect("store");
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).single();
        let mut changes = Changes::new();
        for (seq, minute) in [(0, 6), (1, 9), (2, 11)] {
            let mut message = super::super::tests::message("welcome", 0, MessageStatus::Sent);
            message.outbound.recipient = seq;
            message.answered_at = at(15, minute);
            changes.record_result(&message, None);
        }
        store.commit(changes).expect("commit");
        let request = SeriesRequest {
            since: at(15, 8),
            until: at(15, 10),
            bucket_seconds: Some(300),
        };
        let series = store.activity_series(1, &request).expect("series");
        let got: Vec<(DateTime<Utc>, u64)> =
            series.points.iter().map(|(at, a)| (*at, a.sent)).collect();
        let bucket = |m| at(15, m).unwrap_or_default();
        assert_eq!(got, [(bucket(5), 2), (bucket(10), 1)]);
        let all = store
            .activity_series(1, &SeriesRequest::default())
            .expect("series");
        assert_eq!(all.bucket_seconds, 60);
        assert_eq!(all.points.len(), 6, "15:06 to 15:11, gaps as zeros");
        assert!(
            store
                .activity_series(2, &request)
                .is_ok_and(|s| s.points.len() == 2)
        );
    }

    #[test]
    fn the_default_bucket_keeps_a_series_near_240_points() {
        assert_eq!(default_bucket(0, 239), 1);
        assert_eq!(default_bucket(0, 240), 2);
        assert_eq!(default_bucket(1, 480), 5, "aligned: 0..480 in twos is 241");
        assert_eq!(default_bucket(0, 60 * 24 * 7), 60);
        let year = default_bucket(0, 60 * 24 * 366);
        assert_eq!(year, 2 * DAY_MINUTES);
        let minutes = BTreeMap::from([(0, sent(1)), (60 * 24 * 366, sent(1))]);
        let series = series(&minutes, &SeriesRequest::default()).expect("series");
        assert!(series.points.len() <= 240, "{}", series.points.len());
        assert_eq!(series.bucket_seconds, 2 * 86_400);
    }

    #[test]
    fn bad_requests_are_refused_and_nothing_is_an_empty_series() {
        let none = BTreeMap::new();
        let bucket = |s| SeriesRequest {
            bucket_seconds: Some(s),
            ..SeriesRequest::default()
        };
        assert!(matches!(
            series(&none, &bucket(90)),
            Err(SeriesError::Bucket(90))
        ));
        assert!(matches!(
            series(&none, &bucket(0)),
            Err(SeriesError::Bucket(0))
        ));
        let empty = series(&none, &SeriesRequest::default()).expect("series");
        assert_eq!((empty.bucket_seconds, empty.points.len()), (60, 0));
        let day = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).single();
        let later = Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).single();
        let too_many = SeriesRequest {
            since: day,
            until: later,
            bucket_seconds: Some(60),
        };
        let error = series(&none, &too_many).expect_err("1441 points");
        assert!(error.to_string().contains("1441 points"), "{error}");
        let zeros = SeriesRequest {
            bucket_seconds: Some(3_600),
            ..too_many
        };
        assert_eq!(series_of(&none, &zeros), [0; 25]);
        let backwards = SeriesRequest {
            since: later,
            until: day,
            bucket_seconds: None,
        };
        assert!(matches!(
            series(&none, &backwards),
            Err(SeriesError::Order { .. })
        ));
        let huge = series(&none, &bucket(u64::MAX - u64::MAX % 60));
        assert!(huge.is_ok(), "{huge:?}");
    }
}
