using EventGateway.Languages.Expr;
using EventGateway.Languages.GoTemplates;

namespace EventGateway.Languages.Govaluate;

/// <summary>
/// Evaluates a step/task <c>when</c> field after <c>{{...}}</c> substitution, with Argo's govaluate
/// semantics: bare words are strings (<c>heads == heads</c>), numbers are floats (<c>7 &gt; 5</c>).
/// </summary>
public static class WhenCondition
{
    // The text is fully rendered and has no variables, so the boolean result itself can be memoised.
    private static readonly BoundedCache<bool> Results = new(4096);

    /// <summary>True when the condition holds; an empty condition holds.</summary>
    /// <exception cref="ExpressionException">Syntax or type errors, or a non-boolean result.</exception>
    public static bool Evaluate(string renderedWhen)
    {
        ArgumentNullException.ThrowIfNull(renderedWhen);
        if (string.IsNullOrWhiteSpace(renderedWhen))
        {
            return true;
        }

        try
        {
            return Results.GetOrAdd(renderedWhen, Compute);
        }
        catch (ExprError e)
        {
            throw e.ToPublic(renderedWhen);
        }
    }

    private static bool Compute(string text)
    {
        var result = WhenParser.Parse(text).Eval();
        return result is bool b
            ? b
            : throw new ExprError($"expected a boolean result, got {GoFormat.PrintV(result)}");
    }
}
