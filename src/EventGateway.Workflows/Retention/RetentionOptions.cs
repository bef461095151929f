namespace EventGateway.Workflows.Retention;

/// <summary>Service-wide defaults for what finished workflows leave behind (<c>egw serve</c> flags).</summary>
public sealed class RetentionOptions
{
    /// <summary>ttlStrategy.secondsAfterCompletion of workflows that set no ttlStrategy (<c>--workflow-ttl</c>); null keeps them.</summary>
    public TimeSpan? WorkflowTtl { get; set; }

    /// <summary>podGC.strategy of workflows that set no podGC (<c>--pod-gc</c>); null keeps their pods.</summary>
    public string? PodGCStrategy { get; set; }

    /// <summary>Argo's controller podGCDeleteDelayDuration: the delay when a podGC sets none (<c>--pod-gc-delay</c>).</summary>
    public TimeSpan PodGCDeleteDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Write finished workflows to the archive (archive.db), so they stay queryable after removal (<c>--no-archive</c>).</summary>
    public bool Archive { get; set; } = true;

    /// <summary>Argo's archiveTTL: archived workflows that finished longer ago are dropped (<c>--archive-ttl</c>); null keeps them.</summary>
    public TimeSpan? ArchiveTtl { get; set; }

    /// <summary>How often archived workflows older than <see cref="ArchiveTtl"/> are dropped.</summary>
    public TimeSpan ArchiveSweepInterval { get; set; } = TimeSpan.FromHours(1);

    public void Validate()
    {
        if (WorkflowTtl < TimeSpan.Zero) throw new ArgumentException("workflow TTL must not be negative");
        if (WorkflowTtl?.TotalSeconds > int.MaxValue) throw new ArgumentException($"workflow TTL must be at most {int.MaxValue} seconds");
        if (PodGCStrategy is not null && !RetentionPolicy.PodGCStrategies.Contains(PodGCStrategy))
            throw new ArgumentException($"pod GC strategy '{PodGCStrategy}' is not one of {string.Join(", ", RetentionPolicy.PodGCStrategies)}");
        if (PodGCDeleteDelay < TimeSpan.Zero) throw new ArgumentException("pod GC delete delay must not be negative");
        if (ArchiveTtl <= TimeSpan.Zero) throw new ArgumentException("archive TTL must be positive");
        if (ArchiveTtl is not null && !Archive) throw new ArgumentException("an archive TTL needs the archive (drop --no-archive)");
        if (ArchiveSweepInterval <= TimeSpan.Zero) throw new ArgumentException("archive sweep interval must be positive");
    }
}
