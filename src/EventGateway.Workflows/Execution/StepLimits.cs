using System.Globalization;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// What one step may use. Enforced with rlimits set just before the step starts (this host offers no
/// writable delegated cgroup v2): memory as RLIMIT_DATA (heap and private mappings, so programs that
/// reserve large address ranges still start), processes as RLIMIT_NPROC of the step's own uid, open
/// files as RLIMIT_NOFILE. Null: no limit of that kind.
/// </summary>
public sealed record StepLimits(long? MemoryBytes, int? Pids, int? OpenFiles)
{
    public static readonly StepLimits Default = new(1L << 30, 512, 1024);

    /// <summary>Nothing asked for: the service's defaults apply.</summary>
    public static readonly StepLimits None = new(null, null, null);

    /// <summary>This step's limits: the container's <c>resources.limits</c> over the service's defaults.</summary>
    public StepLimits Over(StepLimits defaults) =>
        new(MemoryBytes ?? defaults.MemoryBytes, Pids ?? defaults.Pids, OpenFiles ?? defaults.OpenFiles);

    /// <summary>Reads a Kubernetes memory quantity (256Mi, 1Gi, 500M, 1048576); null with an error when malformed.</summary>
    public static (long? Bytes, string? Error) ParseMemory(string text)
    {
        var s = text.Trim();
        var units = new (string Suffix, long Factor)[]
        {
            ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
            ("k", 1000), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        };
        foreach (var (suffix, factor) in units)
        {
            if (!s.EndsWith(suffix, StringComparison.Ordinal)) continue;
            return decimal.TryParse(s[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0
                ? ((long)(n * factor), null)
                : (null, $"memory '{text}' is not a quantity like 256Mi or 1Gi");
        }
        return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0
            ? (b, null)
            : (null, $"memory '{text}' is not a quantity like 256Mi or 1Gi");
    }

    /// <summary>A quantity for messages: 256Mi rather than 268435456.</summary>
    public static string Format(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30}Gi" : bytes % (1L << 20) == 0 ? $"{bytes >> 20}Mi" : bytes % 1024 == 0 ? $"{bytes >> 10}Ki" : $"{bytes}";

    public override string ToString() =>
        $"memory {(MemoryBytes is { } m ? Format(m) : "unlimited")}, pids {Pids?.ToString(CultureInfo.InvariantCulture) ?? "unlimited"}, open files {OpenFiles?.ToString(CultureInfo.InvariantCulture) ?? "unlimited"}";
}

/// <summary>The uid and gid a step asked to run as (securityContext.runAsUser/runAsGroup), seen inside its user namespace.</summary>
public sealed record RunAs(long? User, long? Group);

/// <summary>How steps reach the network (<c>egw serve --step-network</c>).</summary>
public enum StepNetwork
{
    /// <summary>A private network namespace per workflow, shared by its steps, with outbound access through pasta and no way to the host's loopback.</summary>
    Isolated,
    /// <summary>A private network namespace per step with loopback only.</summary>
    None,
    /// <summary>The host's network, its loopback services included (the egw API): only for trusted workflows.</summary>
    Host,
}
