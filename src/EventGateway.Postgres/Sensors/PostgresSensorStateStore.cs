using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.State;
using EventGateway.Postgres.Schema;

namespace EventGateway.Postgres.Sensors;

/// <summary>
/// Sensor state shared by the replicas, with the embedded store's tables and its guarantee: a pass is one transaction
/// (one round trip: the statements go as one batch). A fenced write checks its lease in that same transaction and
/// holds the lease row (FOR SHARE) until commit, so a takeover, which updates that row, waits for the old owner's
/// last commit and then sees it; a write after the takeover finds the new holder and writes nothing.
/// </summary>
public sealed class PostgresSensorStateStore(PostgresDatabase db) : ISensorStateStore
{
    private readonly NpgsqlDataSource _source = db.Source;

    public long? GetCheckpoint(string sensor)
    {
        using var cmd = Command("SELECT seq FROM egw_sensor_checkpoints WHERE sensor = $1", sensor);
        return cmd.ExecuteScalar() is long seq ? seq : null;
    }

    public Dictionary<string, Dictionary<string, PartialEvent>> LoadPartial(string sensor)
    {
        var result = new Dictionary<string, Dictionary<string, PartialEvent>>(StringComparer.Ordinal);
        using var cmd = Command("SELECT trig, dep, seq, event FROM egw_sensor_partial WHERE sensor = $1", sensor);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            if (!result.TryGetValue(r.GetString(0), out var deps))
                result[r.GetString(0)] = deps = new Dictionary<string, PartialEvent>(StringComparer.Ordinal);
            deps[r.GetString(1)] = new PartialEvent(r.GetInt64(2), CloudEventJson.Deserialize((byte[])r.GetValue(3)));
        }
        return result;
    }

    public FiringRecord? FindFiring(string sensor, string trigger, string dedupKey, DateTimeOffset notBefore)
    {
        using var cmd = Command("SELECT seqs, time, outcome, detail FROM egw_sensor_firings WHERE sensor = $1 AND trig = $2 AND dedup_key = $3 AND time >= $4",
            sensor, trigger, dedupKey, notBefore.ToUnixTimeMilliseconds());
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new FiringRecord(sensor, trigger, dedupKey, SensorStateText.ParseSeqs(r.GetString(0)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3))
            : null;
    }

    public IReadOnlyList<DateTimeOffset> FiringsSince(string sensor, string trigger, DateTimeOffset notBefore)
    {
        using var cmd = Command("SELECT time FROM egw_sensor_firings WHERE sensor = $1 AND trig = $2 AND time >= $3 AND outcome = 'triggered' ORDER BY time",
            sensor, trigger, notBefore.ToUnixTimeMilliseconds());
        using var r = cmd.ExecuteReader();
        var times = new List<DateTimeOffset>();
        while (r.Read()) times.Add(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)));
        return times;
    }

    public void Commit(SensorBatch batch)
    {
        if (batch.IsEmpty) return;
        var statements = new List<NpgsqlBatchCommand>();
        foreach (var (trigger, deps) in batch.Partial)
        {
            statements.Add(Statement("DELETE FROM egw_sensor_partial WHERE sensor = $1 AND trig = $2", batch.Sensor, trigger));
            foreach (var (dep, p) in deps)
                statements.Add(Statement("INSERT INTO egw_sensor_partial (sensor, trig, dep, seq, event) VALUES ($1, $2, $3, $4, $5)",
                    batch.Sensor, trigger, dep, p.Sequence, CloudEventJson.Serialize(p.Event)));
        }
        foreach (var f in batch.Firings)
            statements.Add(Statement("""
                INSERT INTO egw_sensor_firings (sensor, trig, dedup_key, seqs, time, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (sensor, trig, dedup_key) DO UPDATE SET seqs = excluded.seqs, time = excluded.time, outcome = excluded.outcome, detail = excluded.detail
                """, f.Sensor, f.Trigger, f.DedupKey, SensorStateText.FormatSeqs(f.Sequences), f.Time.ToUnixTimeMilliseconds(), f.Outcome, Text(f.Detail)));
        foreach (var d in batch.Decisions)
            // A replayed pass (crash before its commit) decides again; count each step of an event once: the counter
            // moves only when the decision row is new (xmax = 0: inserted, not updated by the conflict clause).
            statements.Add(Statement("""
                WITH d AS (
                    INSERT INTO egw_sensor_decisions (seq, sensor, trig, outcome, reason, time) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (seq, sensor, trig, outcome) DO UPDATE SET reason = excluded.reason, time = excluded.time
                    RETURNING (xmax = 0) AS inserted)
                INSERT INTO egw_sensor_counters (sensor, trig, outcome, count) SELECT $2, $3, $4, 1 FROM d WHERE d.inserted
                ON CONFLICT (sensor, trig, outcome) DO UPDATE SET count = egw_sensor_counters.count + 1
                """, d.Sequence, d.Sensor, d.Trigger, d.Outcome, Text(d.Reason), d.Time.ToUnixTimeMilliseconds()));
        foreach (var l in batch.DeadLetters)
            statements.Add(Statement("INSERT INTO egw_sensor_dead_letters (sensor, trig, dedup_key, seqs, events, error, time) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                l.Sensor, l.Trigger, l.DedupKey, SensorStateText.FormatSeqs(l.Sequences), SensorStateText.FormatEvents(l.Events), l.Error, l.Time.ToUnixTimeMilliseconds()));
        if (batch.Checkpoint is { } cp)
            statements.Add(Statement("INSERT INTO egw_sensor_checkpoints (sensor, seq) VALUES ($1, $2) ON CONFLICT (sensor) DO UPDATE SET seq = excluded.seq", batch.Sensor, cp));
        Write(batch.Fence, $"sensor {batch.Sensor}'s pass", statements);
    }

    public IReadOnlyList<Decision> DecisionsFor(IReadOnlyCollection<long> sequences)
    {
        var result = new List<Decision>();
        if (sequences.Count == 0) return result;
        using var cmd = Command("SELECT seq, sensor, trig, outcome, reason, time FROM egw_sensor_decisions WHERE seq = ANY($1) ORDER BY seq, time, trig COLLATE \"C\"", sequences.ToArray());
        using var r = cmd.ExecuteReader();
        while (r.Read())
            result.Add(new Decision(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5))));
        return result;
    }

    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> Counters(string sensor)
    {
        var result = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        using var cmd = Command("SELECT trig, outcome, count FROM egw_sensor_counters WHERE sensor = $1", sensor);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            if (!result.TryGetValue(r.GetString(0), out var byOutcome)) result[r.GetString(0)] = byOutcome = new(StringComparer.Ordinal);
            byOutcome[r.GetString(1)] = r.GetInt64(2);
        }
        return result.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, long>)kv.Value, StringComparer.Ordinal);
    }

    private const string DeadLetterColumns = "id, sensor, trig, dedup_key, seqs, events, error, time, replayed_at, replay_outcome";

    public IReadOnlyList<DeadLetter> DeadLetters(string? sensor = null, bool includeReplayed = false, int limit = 100)
    {
        using var cmd = Command($"SELECT {DeadLetterColumns} FROM egw_sensor_dead_letters WHERE ($1::text IS NULL OR sensor = $1) AND ($2 OR replayed_at IS NULL) ORDER BY id DESC LIMIT $3",
            Text(sensor), includeReplayed, Math.Clamp(limit, 1, 10_000));
        return ReadDeadLetters(cmd);
    }

    public DeadLetter? GetDeadLetter(long id)
    {
        using var cmd = Command($"SELECT {DeadLetterColumns} FROM egw_sensor_dead_letters WHERE id = $1", id);
        return ReadDeadLetters(cmd).FirstOrDefault();
    }

    public void MarkReplayed(long id, DateTimeOffset at, string outcome, LeaseFence? fence = null) =>
        Write(fence, $"dead letter {id}'s replay", [Statement("UPDATE egw_sensor_dead_letters SET replayed_at = $1, replay_outcome = $2 WHERE id = $3", at.ToUnixTimeMilliseconds(), outcome, id)]);

    public void Forget(string sensor, LeaseFence? fence = null) =>
        Write(fence, $"forgetting sensor {sensor}",
        [
            Statement("DELETE FROM egw_sensor_checkpoints WHERE sensor = $1", sensor),
            Statement("DELETE FROM egw_sensor_partial WHERE sensor = $1", sensor),
        ]);

    public int Prune(DateTimeOffset firingsBefore, DateTimeOffset decisionsBefore)
    {
        using var firings = Command("DELETE FROM egw_sensor_firings WHERE time < $1", firingsBefore.ToUnixTimeMilliseconds());
        using var decisions = Command("DELETE FROM egw_sensor_decisions WHERE time < $1", decisionsBefore.ToUnixTimeMilliseconds());
        return firings.ExecuteNonQuery() + decisions.ExecuteNonQuery();
    }

    /// <summary>One transaction: the fence (if any) checked and its lease row held, then every statement in one batch.</summary>
    private void Write(LeaseFence? fence, string what, IReadOnlyList<NpgsqlBatchCommand> statements)
    {
        using var conn = _source.OpenConnection();
        using var tx = conn.BeginTransaction();
        if (fence is not null) CheckFence(conn, tx, fence, what);
        using var batch = new NpgsqlBatch(conn, tx);
        foreach (var s in statements) batch.BatchCommands.Add(s);
        batch.ExecuteNonQuery();
        tx.Commit();
    }

    private static void CheckFence(NpgsqlConnection conn, NpgsqlTransaction tx, LeaseFence fence, string what)
    {
        using var cmd = new NpgsqlCommand("SELECT holder, epoch FROM egw_leases WHERE name = $1 FOR SHARE", conn, tx);
        cmd.Parameters.Add(new() { Value = fence.Name });
        using var r = cmd.ExecuteReader();
        var held = r.Read() ? (Holder: r.GetString(0), Epoch: r.GetInt64(1)) : default;
        if (held.Holder == fence.Holder && held.Epoch == fence.Epoch) return;
        var now = held.Holder is null ? "no one holds it" : $"it is held by {held.Holder} at epoch {held.Epoch.ToString(CultureInfo.InvariantCulture)}";
        throw new FencedWriteException($"{what} was not written: it needs lease '{fence.Name}' held by {fence.Holder} at epoch {fence.Epoch.ToString(CultureInfo.InvariantCulture)}, but {now} (another replica took it over)");
    }

    private static List<DeadLetter> ReadDeadLetters(NpgsqlCommand cmd)
    {
        var result = new List<DeadLetter>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
            result.Add(new DeadLetter(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), SensorStateText.ParseSeqs(r.GetString(4)), SensorStateText.ParseEvents(r.GetString(5)),
                r.GetString(6), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
                r.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)), r.IsDBNull(9) ? null : r.GetString(9)));
        return result;
    }

    /// <summary>A nullable text parameter: typed, so PostgreSQL knows what a null is.</summary>
    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlBatchCommand Statement(string sql, params object[] args)
    {
        var s = new NpgsqlBatchCommand(sql);
        foreach (var a in args) s.Parameters.Add(a as NpgsqlParameter ?? new NpgsqlParameter { Value = a });
        return s;
    }

    private NpgsqlCommand Command(string sql, params object[] args)
    {
        var cmd = _source.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(a as NpgsqlParameter ?? new NpgsqlParameter { Value = a });
        return cmd;
    }
}
