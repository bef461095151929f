using System.Text.Json;
using Microsoft.Data.Sqlite;
using EventGateway.Events.Log;

namespace EventGateway.Events.Sensors.State;

/// <summary>
/// The embedded sensor state, in its own SQLite file (<c>sensors.db</c>): one connection, one writer at a time; every
/// pass of a sensor commits as one transaction (<see cref="Commit"/>). Fences are not checked: one process owns every
/// sensor, and leases live in the shared store only.
/// </summary>
public sealed class SqliteSensorStateStore : ISensorStateStore, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();
    private SqliteTransaction? _tx; // Microsoft.Data.Sqlite wants each command enlisted explicitly

    public SqliteSensorStateStore(string path)
    {
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS checkpoints (sensor TEXT PRIMARY KEY, seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS partial (sensor TEXT NOT NULL, trig TEXT NOT NULL, dep TEXT NOT NULL, seq INTEGER NOT NULL, event BLOB NOT NULL,
                PRIMARY KEY (sensor, trig, dep));
            CREATE TABLE IF NOT EXISTS firings (sensor TEXT NOT NULL, trig TEXT NOT NULL, dedup_key TEXT NOT NULL, seqs TEXT NOT NULL,
                time INTEGER NOT NULL, outcome TEXT NOT NULL, detail TEXT, PRIMARY KEY (sensor, trig, dedup_key));
            CREATE INDEX IF NOT EXISTS firings_time ON firings (time);
            CREATE TABLE IF NOT EXISTS decisions (seq INTEGER NOT NULL, sensor TEXT NOT NULL, trig TEXT NOT NULL, outcome TEXT NOT NULL,
                reason TEXT, time INTEGER NOT NULL, PRIMARY KEY (seq, sensor, trig, outcome));
            CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time);
            CREATE TABLE IF NOT EXISTS counters (sensor TEXT NOT NULL, trig TEXT NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL,
                PRIMARY KEY (sensor, trig, outcome));
            CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, sensor TEXT NOT NULL, trig TEXT NOT NULL,
                dedup_key TEXT NOT NULL, seqs TEXT NOT NULL, events TEXT NOT NULL, error TEXT NOT NULL, time INTEGER NOT NULL,
                replayed_at INTEGER, replay_outcome TEXT);
            """);
    }

    /// <summary>The last sequence the sensor finished, or null before its first pass.</summary>
    public long? GetCheckpoint(string sensor)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT seq FROM checkpoints WHERE sensor = $s", ("$s", sensor));
            return cmd.ExecuteScalar() is long seq ? seq : null;
        }
    }

    /// <summary>Partial condition state by trigger, then dependency.</summary>
    public Dictionary<string, Dictionary<string, PartialEvent>> LoadPartial(string sensor)
    {
        var result = new Dictionary<string, Dictionary<string, PartialEvent>>(StringComparer.Ordinal);
        lock (_lock)
        {
            using var cmd = Command("SELECT trig, dep, seq, event FROM partial WHERE sensor = $s", ("$s", sensor));
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!result.TryGetValue(r.GetString(0), out var deps))
                    result[r.GetString(0)] = deps = new Dictionary<string, PartialEvent>(StringComparer.Ordinal);
                deps[r.GetString(1)] = new PartialEvent(r.GetInt64(2), CloudEventJson.Deserialize((byte[])r.GetValue(3)));
            }
        }
        return result;
    }

    /// <summary>The firing with this dedup key, if one was recorded at or after <paramref name="notBefore"/>.</summary>
    public FiringRecord? FindFiring(string sensor, string trigger, string dedupKey, DateTimeOffset notBefore)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT seqs, time, outcome, detail FROM firings WHERE sensor = $s AND trig = $t AND dedup_key = $k AND time >= $nb",
                ("$s", sensor), ("$t", trigger), ("$k", dedupKey), ("$nb", notBefore.ToUnixTimeMilliseconds()));
            using var r = cmd.ExecuteReader();
            return r.Read()
                ? new FiringRecord(sensor, trigger, dedupKey, SensorStateText.ParseSeqs(r.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3))
                : null;
        }
    }

    public void Commit(SensorBatch batch)
    {
        if (batch.IsEmpty) return;
        lock (_lock)
        {
            InTransaction(() => Write(batch));
        }
    }

    private void Write(SensorBatch batch)
    {
        foreach (var (trigger, deps) in batch.Partial)
        {
            Run("DELETE FROM partial WHERE sensor = $s AND trig = $t", ("$s", batch.Sensor), ("$t", trigger));
            foreach (var (dep, p) in deps)
                Run("INSERT INTO partial (sensor, trig, dep, seq, event) VALUES ($s, $t, $d, $q, $e)",
                    ("$s", batch.Sensor), ("$t", trigger), ("$d", dep), ("$q", p.Sequence), ("$e", CloudEventJson.Serialize(p.Event)));
        }
        foreach (var f in batch.Firings)
            Run("""
                INSERT INTO firings (sensor, trig, dedup_key, seqs, time, outcome, detail) VALUES ($s, $t, $k, $q, $time, $o, $d)
                ON CONFLICT (sensor, trig, dedup_key) DO UPDATE SET seqs = excluded.seqs, time = excluded.time, outcome = excluded.outcome, detail = excluded.detail
                """, ("$s", f.Sensor), ("$t", f.Trigger), ("$k", f.DedupKey), ("$q", SensorStateText.FormatSeqs(f.Sequences)), ("$time", f.Time.ToUnixTimeMilliseconds()), ("$o", f.Outcome), ("$d", f.Detail));
        foreach (var d in batch.Decisions)
        {
            // A replayed pass (crash before its commit) decides again; count each step of an event once.
            var inserted = Run("INSERT INTO decisions (seq, sensor, trig, outcome, reason, time) VALUES ($q, $s, $t, $o, $r, $time) ON CONFLICT DO NOTHING",
                ("$q", d.Sequence), ("$s", d.Sensor), ("$t", d.Trigger), ("$o", d.Outcome), ("$r", d.Reason), ("$time", d.Time.ToUnixTimeMilliseconds()));
            if (inserted > 0)
                Run("""
                    INSERT INTO counters (sensor, trig, outcome, count) VALUES ($s, $t, $o, 1)
                    ON CONFLICT (sensor, trig, outcome) DO UPDATE SET count = count + 1
                    """, ("$s", d.Sensor), ("$t", d.Trigger), ("$o", d.Outcome));
            else
                Run("UPDATE decisions SET reason = $r, time = $time WHERE seq = $q AND sensor = $s AND trig = $t AND outcome = $o",
                    ("$q", d.Sequence), ("$s", d.Sensor), ("$t", d.Trigger), ("$o", d.Outcome), ("$r", d.Reason), ("$time", d.Time.ToUnixTimeMilliseconds()));
        }
        foreach (var l in batch.DeadLetters)
            Run("INSERT INTO dead_letters (sensor, trig, dedup_key, seqs, events, error, time) VALUES ($s, $t, $k, $q, $e, $err, $time)",
                ("$s", l.Sensor), ("$t", l.Trigger), ("$k", l.DedupKey), ("$q", SensorStateText.FormatSeqs(l.Sequences)), ("$e", SensorStateText.FormatEvents(l.Events)), ("$err", l.Error), ("$time", l.Time.ToUnixTimeMilliseconds()));
        if (batch.Checkpoint is { } cp)
            Run("INSERT INTO checkpoints (sensor, seq) VALUES ($s, $q) ON CONFLICT (sensor) DO UPDATE SET seq = excluded.seq", ("$s", batch.Sensor), ("$q", cp));
    }

    /// <summary>Recorded decisions for the given events, in sequence then stage order.</summary>
    public IReadOnlyList<Decision> DecisionsFor(IReadOnlyCollection<long> sequences)
    {
        var result = new List<Decision>();
        if (sequences.Count == 0) return result;
        lock (_lock)
        {
            using var cmd = Command($"SELECT seq, sensor, trig, outcome, reason, time FROM decisions WHERE seq IN ({string.Join(",", sequences.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)))}) ORDER BY seq, time, trig");
            using var r = cmd.ExecuteReader();
            while (r.Read())
                result.Add(new Decision(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5))));
        }
        return result;
    }

    /// <summary>Counts by trigger ("" = the dependency stage) and outcome.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Counters(string sensor)
    {
        var result = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        lock (_lock)
        {
            using var cmd = Command("SELECT trig, outcome, count FROM counters WHERE sensor = $s", ("$s", sensor));
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!result.TryGetValue(r.GetString(0), out var byOutcome)) result[r.GetString(0)] = byOutcome = new(StringComparer.Ordinal);
                byOutcome[r.GetString(1)] = r.GetInt64(2);
            }
        }
        return result.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, long>)kv.Value, StringComparer.Ordinal);
    }

    public IReadOnlyList<DeadLetter> DeadLetters(string? sensor = null, bool includeReplayed = false, int limit = 100)
    {
        lock (_lock)
        {
            using var cmd = Command($"SELECT {DeadLetterColumns} FROM dead_letters WHERE ($s IS NULL OR sensor = $s) AND ($all = 1 OR replayed_at IS NULL) ORDER BY id DESC LIMIT $n",
                ("$s", sensor), ("$all", includeReplayed ? 1 : 0), ("$n", Math.Clamp(limit, 1, 10_000)));
            return ReadDeadLetters(cmd);
        }
    }

    public DeadLetter? GetDeadLetter(long id)
    {
        lock (_lock)
        {
            using var cmd = Command($"SELECT {DeadLetterColumns} FROM dead_letters WHERE id = $id", ("$id", id));
            return ReadDeadLetters(cmd).FirstOrDefault();
        }
    }

    public void MarkReplayed(long id, DateTimeOffset at, string outcome, LeaseFence? fence = null)
    {
        lock (_lock)
        {
            using var cmd = Command("UPDATE dead_letters SET replayed_at = $at, replay_outcome = $o WHERE id = $id", ("$at", at.ToUnixTimeMilliseconds()), ("$o", outcome), ("$id", id));
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Forgets a deleted sensor's checkpoint and partial state; its history (decisions, counters, dead letters) stays.</summary>
    public void Forget(string sensor, LeaseFence? fence = null)
    {
        lock (_lock)
        {
            InTransaction(() =>
            {
                Run("DELETE FROM checkpoints WHERE sensor = $s", ("$s", sensor));
                Run("DELETE FROM partial WHERE sensor = $s", ("$s", sensor));
            });
        }
    }

    /// <summary>Drops firings older than the dedup window and decisions older than the event log keeps events.</summary>
    public int Prune(DateTimeOffset firingsBefore, DateTimeOffset decisionsBefore)
    {
        lock (_lock)
        {
            return Run("DELETE FROM firings WHERE time < $t", ("$t", firingsBefore.ToUnixTimeMilliseconds()))
                 + Run("DELETE FROM decisions WHERE time < $t", ("$t", decisionsBefore.ToUnixTimeMilliseconds()));
        }
    }

    public void Dispose() => _db.Dispose();

    private void InTransaction(Action body)
    {
        using var tx = _tx = _db.BeginTransaction();
        try
        {
            body();
            tx.Commit();
        }
        finally
        {
            _tx = null;
        }
    }

    private const string DeadLetterColumns = "id, sensor, trig, dedup_key, seqs, events, error, time, replayed_at, replay_outcome";

    private static List<DeadLetter> ReadDeadLetters(SqliteCommand cmd)
    {
        var result = new List<DeadLetter>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
            result.Add(new DeadLetter(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), SensorStateText.ParseSeqs(r.GetString(4)), SensorStateText.ParseEvents(r.GetString(5)),
                r.GetString(6), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
                r.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)), r.IsDBNull(9) ? null : r.GetString(9)));
        return result;
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private int Run(string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(sql, args);
        return cmd.ExecuteNonQuery();
    }

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
