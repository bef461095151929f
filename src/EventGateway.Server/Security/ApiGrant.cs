namespace EventGateway.Server.Security;

/// <summary>What a token may do, shaped like Argo Server's RBAC: each role includes the ones below it.</summary>
public enum ApiRole
{
    /// <summary>list, get, logs, events, sensors, archive, event log, metrics.</summary>
    Read = 1,

    /// <summary>read + create/lint/submit-from workflows and act on them (retry, resubmit, suspend, resume, stop, terminate).</summary>
    Submit = 2,

    /// <summary>submit + apply and delete of every kind, DLQ replay, cluster-scoped kinds.</summary>
    Admin = 3,
}

/// <summary>One token's grant: its name (for logs and refusals), its role, and the namespaces it may act in (<c>*</c>: all).</summary>
public sealed record ApiGrant(string Name, ApiRole Role, IReadOnlyList<string> Namespaces)
{
    public const string AllNamespaces = "*";

    public bool CoversAllNamespaces => Namespaces.Contains(AllNamespaces);

    public bool Covers(string ns) => CoversAllNamespaces || Namespaces.Contains(ns, StringComparer.Ordinal);

    /// <summary>The grant of <c>--auth-mode none</c>: everyone is an admin of everything.</summary>
    public static ApiGrant Anonymous { get; } = new("anonymous", ApiRole.Admin, [AllNamespaces]);

    public static bool TryParseRole(string? text, out ApiRole role)
    {
        role = text switch { "read" => ApiRole.Read, "submit" => ApiRole.Submit, "admin" => ApiRole.Admin, _ => 0 };
        return role != 0;
    }

    public static string RoleName(ApiRole role) => role.ToString().ToLowerInvariant();

    public override string ToString() => $"token '{Name}' ({RoleName(Role)} in {string.Join(", ", Namespaces)})";
}
