using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Depends;

/// <summary>
/// A DAG task's <c>depends</c> field ("enhanced depends logic"): task operands such as <c>A</c>,
/// <c>A.Succeeded</c> or <c>A.AnySucceeded</c> combined with <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> and parentheses.
/// A bare <c>A</c> means <c>(A.Succeeded || A.Skipped || A.Daemoned)</c>.
/// </summary>
public sealed class DependsExpression
{
    private readonly DependsNode root;

    private DependsExpression(string text, DependsNode root, IReadOnlySet<string> taskNames)
    {
        Text = text;
        this.root = root;
        TaskNames = taskNames;
    }

    /// <summary>The source text.</summary>
    public string Text { get; }

    /// <summary>Every task name the expression refers to.</summary>
    public IReadOnlySet<string> TaskNames { get; }

    /// <exception cref="ExpressionException">Bad syntax; the exception carries the position.</exception>
    public static DependsExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            var (root, names) = DependsParser.Parse(text);
            return new DependsExpression(text, root, names);
        }
        catch (ExprError e)
        {
            throw e.ToPublic(text);
        }
    }

    /// <summary>The legacy <c>dependencies: [a, b]</c> list as depends text: <c>"a &amp;&amp; b"</c>.</summary>
    public static string FromDependencies(IEnumerable<string> deps)
    {
        ArgumentNullException.ThrowIfNull(deps);
        return string.Join(" && ", deps);
    }

    /// <summary>
    /// Evaluates with three-valued logic: operands of tasks that have not completed are unknown, and the
    /// result is null while unknowns could still change it. Evaluation short-circuits left to right, so
    /// <c>A || B</c> is true as soon as A succeeded, without asking about B.
    /// </summary>
    public bool? Evaluate(Func<string, TaskOutcome> outcomeOf)
    {
        ArgumentNullException.ThrowIfNull(outcomeOf);
        return root.Evaluate(outcomeOf);
    }

    public override string ToString() => Text;
}
