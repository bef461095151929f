namespace EventGateway.Workflows.Retention;

/// <summary>
/// Service-wide defaults for what finished workflows leave behind (<c>egw serve</c> flags). Bounded by default: a
/// service left running keeps finished workflows live for <see cref="DefaultWorkflowTtl"/> and at most
/// <see cref="DefaultMaxFinishedWorkflows"/> of them, and their archived history for <see cref="DefaultArchiveTtl"/>.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>A week: long enough to look at last week's runs and their logs; the archive keeps their history after.</summary>
    public static readonly TimeSpan DefaultWorkflowTtl = TimeSpan.FromDays(7);

    /// <summary>The archive's history: a quarter, as long as a CI service typically keeps run history.</summary>
    public static readonly TimeSpan DefaultArchiveTtl = TimeSpan.FromDays(90);

    /// <summary>A TTL of days does not bound a burst (3,000 pushes an hour): this does, at roughly 10,000 × 80 KB of pods.</summary>
    public const int DefaultMaxFinishedWorkflows = 10_000;

    /// <summary>ttlStrategy.secondsAfterCompletion of workflows that set no ttlStrategy (<c>--workflow-ttl</c>); null keeps them.</summary>
    public TimeSpan? WorkflowTtl { get; set; } = DefaultWorkflowTtl;

    /// <summary>
    /// Most finished workflows kept in the store (<c>--max-finished-workflows</c>): beyond it the earliest finished are
    /// deleted (archived first), whatever their ttlStrategy says; null: no cap.
    /// </summary>
    public int? MaxFinishedWorkflows { get; set; } = DefaultMaxFinishedWorkflows;

    /// <summary>podGC.strategy of workflows that set no podGC (<c>--pod-gc</c>); null keeps their pods.</summary>
    public string? PodGCStrategy { get; set; }

    /// <summary>Argo's controller podGCDeleteDelayDuration: the delay when a podGC sets none (<c>--pod-gc-delay</c>).</summary>
    public TimeSpan PodGCDeleteDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Write finished workflows to the archive (archive.db), so they stay queryable after removal (<c>--no-archive</c>).</summary>
    public bool Archive { get; set; } = true;

    /// <summary>Argo's archiveTTL: archived workflows that finished longer ago are dropped (<c>--archive-ttl</c>); null keeps them.</summary>
    public TimeSpan? ArchiveTtl { get; set; } = DefaultArchiveTtl;

    /// <summary>How often archived workflows older than <see cref="ArchiveTtl"/> are dropped.</summary>
    public TimeSpan ArchiveSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Nothing is ever removed: the old behaviour, for tests and hosts that clean up themselves.</summary>
    public static RetentionOptions KeepEverything() => new() { WorkflowTtl = null, MaxFinishedWorkflows = null, ArchiveTtl = null };

    /// <summary>What grows without bound with these settings, one sentence each: said at every start.</summary>
    public IEnumerable<string> Unbounded()
    {
        if (WorkflowTtl is null)
            yield return "--workflow-ttl none: finished workflows without a ttlStrategy are never deleted; "
                + (MaxFinishedWorkflows is { } cap ? $"only --max-finished-workflows ({cap}) bounds the data directory" : "the data directory grows without bound");
        if (MaxFinishedWorkflows is null)
            yield return "--max-finished-workflows none: nothing bounds how many finished workflows a burst leaves in the data directory";
        if (Archive && ArchiveTtl is null)
            yield return "--archive-ttl none: archived workflows are never dropped; archive.db grows without bound";
    }

    public void Validate()
    {
        if (WorkflowTtl < TimeSpan.Zero) throw new ArgumentException("workflow TTL must not be negative");
        if (WorkflowTtl?.TotalSeconds > int.MaxValue) throw new ArgumentException($"workflow TTL must be at most {int.MaxValue} seconds");
        if (MaxFinishedWorkflows < 1) throw new ArgumentException($"max finished workflows must be at least 1, got {MaxFinishedWorkflows}");
        if (PodGCStrategy is not null && !RetentionPolicy.PodGCStrategies.Contains(PodGCStrategy))
            throw new ArgumentException($"pod GC strategy '{PodGCStrategy}' is not one of {string.Join(", ", RetentionPolicy.PodGCStrategies)}");
        if (PodGCDeleteDelay < TimeSpan.Zero) throw new ArgumentException("pod GC delete delay must not be negative");
        if (ArchiveTtl <= TimeSpan.Zero) throw new ArgumentException("archive TTL must be positive");
        if (ArchiveSweepInterval <= TimeSpan.Zero) throw new ArgumentException("archive sweep interval must be positive");
    }
}
