using System.Text.RegularExpressions;

namespace EventGateway.Languages.Expr;

/// <summary>
/// Go (RE2) regular expressions for callers outside the languages (Argo Events' data filters), from the same
/// cache and with the same translation and timeout as expr's <c>matches</c> and govaluate's <c>=~</c>.
/// </summary>
public static class GoRegex
{
    /// <exception cref="ExpressionException">The pattern is invalid; <see cref="ExpressionException.Reason"/> says why.</exception>
    public static Regex Get(string pattern)
    {
        try
        {
            return RegexCache.Get(pattern);
        }
        catch (ExprError e)
        {
            throw new ExpressionException(e.Reason, e);
        }
    }

    /// <summary>Unanchored match, like Go's <c>regexp.MatchString</c>.</summary>
    /// <exception cref="ExpressionException">The pattern is invalid or the match timed out.</exception>
    public static bool IsMatch(string pattern, string input)
    {
        try
        {
            return RegexCache.IsMatch(pattern, input);
        }
        catch (ExprError e)
        {
            throw new ExpressionException(e.Reason, e);
        }
    }
}
