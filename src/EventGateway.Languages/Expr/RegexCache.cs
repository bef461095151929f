using System.Text.RegularExpressions;

namespace EventGateway.Languages.Expr;

/// <summary>Compiled-regex memo shared by <c>matches</c>, sprig regex functions and govaluate <c>=~</c>.</summary>
internal static class RegexCache
{
    // Guards against catastrophic backtracking in user-supplied patterns (Go's RE2 cannot backtrack).
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private static readonly BoundedCache<Regex> Cache = new(1024);

    /// <summary>Returns the regex for a Go (RE2) pattern; throws <see cref="ExprError"/> if it is invalid.</summary>
    public static Regex Get(string pattern) => Cache.GetOrAdd(pattern, Compile);

    /// <summary>Match test that reports a timeout as an expression error instead of escaping.</summary>
    public static bool IsMatch(string pattern, string input)
    {
        try
        {
            return Get(pattern).IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new ExprError($"regular expression '{pattern}' timed out");
        }
    }

    private static Regex Compile(string pattern)
    {
        try
        {
            // RE2 spells named groups (?P<name>...); .NET accepts (?<name>...).
            var dotnet = pattern.Replace("(?P<", "(?<", StringComparison.Ordinal);
            return new Regex(dotnet, RegexOptions.CultureInvariant, Timeout);
        }
        catch (ArgumentException e)
        {
            throw new ExprError($"invalid regular expression '{pattern}': {e.Message}");
        }
    }
}
