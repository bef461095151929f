namespace EventGateway.Sensors.Filters;

/// <summary>Whether an event satisfies a dependency's filters, and if not, which filter stopped it.</summary>
public sealed record FilterResult(bool Passed, string? Reason)
{
    public static readonly FilterResult Pass = new(true, null);

    public static FilterResult Fail(string reason) => new(false, reason);
}

/// <summary>
/// One filter kind's verdict. <see cref="IsError"/> mirrors Argo returning an error (missing path, bad value,
/// expression failure): an error fails the dependency even when <c>filtersLogicalOperator</c> is <c>or</c>.
/// </summary>
internal readonly record struct KindOutcome(bool Passed, string? Reason, bool IsError)
{
    public static readonly KindOutcome Pass = new(true, null, false);

    public static KindOutcome NoMatch(string reason) => new(false, reason, false);

    public static KindOutcome Error(string kind, string reason) => new(false, $"{kind} filter error ({reason})", true);

    public static KindOutcome Errors(string kind, IEnumerable<string> reasons) =>
        new(false, $"{kind} filter errors [{string.Join(" / ", reasons)}]", true);
}

/// <summary>Argo's LogicalOperator: only the exact word <c>or</c> means OR; anything else evaluates as AND.</summary>
internal static class LogicalOperator
{
    public const string And = "and";
    public const string Or = "or";

    public static bool IsOr(string? op) => op == Or;

    public static bool IsValid(string? op) => string.IsNullOrEmpty(op) || op is And or Or;
}

/// <summary>Quoting for reasons: Go-style double quotes, long values cut so a reason stays one readable line.</summary>
internal static class Show
{
    private const int MaxLength = 200;

    public static string Quote(string value)
    {
        var cut = value.Length > MaxLength ? value[..MaxLength] + "..." : value;
        return "\"" + cut.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
    }

    public static string List(IEnumerable<string> values, bool quote) =>
        "[" + string.Join(", ", values.Select(v => quote ? Quote(v) : v)) + "]";
}
