namespace EventGateway.Events.Sensors.Filters;

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

    /// <summary>
    /// Combines one kind's filters (a null outcome is a skipped filter): under "and" the first failure decides;
    /// under "or" the first pass does, errors outrank misses, and nothing passing (even an empty or all-skipped
    /// list) fails. Outcomes are evaluated lazily, so the deciding filter is the last one run.
    /// </summary>
    public static KindOutcome Combine(string kind, bool or, IEnumerable<KindOutcome?> outcomes)
    {
        var errors = new List<string>();
        var misses = new List<string>();
        foreach (var o in outcomes)
        {
            if (o is not { } outcome) continue;
            if (outcome.Passed)
            {
                if (or) return Pass;
                continue;
            }
            if (!or) return outcome.IsError ? Error(kind, outcome.Reason!) : outcome;
            (outcome.IsError ? errors : misses).Add(outcome.Reason!);
        }
        if (!or) return Pass;
        return errors.Count > 0
            ? Errors(kind, errors)
            : NoMatch(misses.Count > 0 ? $"no {kind} filter matched: {string.Join("; ", misses)}" : $"no {kind} filter matched");
    }
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
