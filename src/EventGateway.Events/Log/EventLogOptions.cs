namespace EventGateway.Events.Log;

/// <summary>Limits of the embedded event log, each with its behaviour when reached.</summary>
public sealed class EventLogOptions
{
    /// <summary>Events older than this are removed by the pruner.</summary>
    public TimeSpan RetentionMaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Beyond this many events the oldest are removed by the pruner.</summary>
    public long RetentionMaxEvents { get; set; } = 1_000_000;

    /// <summary>Appends waiting for the writer; past this, appends fail fast and webhooks answer 503 with Retry-After.</summary>
    public int MaxPendingEvents { get; set; } = 16_384;

    /// <summary>Bytes of event data waiting for the writer; past this, as <see cref="MaxPendingEvents"/>.</summary>
    public long MaxPendingBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Most events one commit takes; a larger backlog becomes several commits.</summary>
    public int MaxBatch { get; set; } = 2048;

    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    public void Validate()
    {
        if (RetentionMaxAge <= TimeSpan.Zero) throw new ArgumentException("event retention age must be positive");
        if (RetentionMaxEvents < 1) throw new ArgumentException("event retention count must be at least 1");
        if (MaxPendingEvents < 1 || MaxPendingBytes < 1 || MaxBatch < 1) throw new ArgumentException("event log queue limits must be positive");
    }
}
