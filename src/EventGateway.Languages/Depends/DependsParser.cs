using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Depends;

/// <summary>Task results selectable with <c>task.Result</c> in a depends expression.</summary>
internal enum TaskResult
{
    /// <summary>No suffix: Succeeded, Skipped or Daemoned, for compatibility with <c>dependencies</c>.</summary>
    Default,
    Succeeded,
    Failed,
    Errored,
    Skipped,
    Omitted,
    Daemoned,
    AnySucceeded,
    AllFailed,
}

internal abstract class DependsNode
{
    public abstract bool? Evaluate(Func<string, TaskOutcome> outcomeOf);
}

internal sealed class TaskOperand(string task, TaskResult result) : DependsNode
{
    public override bool? Evaluate(Func<string, TaskOutcome> outcomeOf)
    {
        var outcome = outcomeOf(task);
        if (!outcome.Completed)
        {
            return null;
        }

        var phase = outcome.Phase;
        return result switch
        {
            TaskResult.Default => phase is "Succeeded" or "Skipped" || IsDaemoned(outcome),
            TaskResult.Succeeded => phase == "Succeeded",
            TaskResult.Failed => phase == "Failed",
            TaskResult.Errored => phase == "Error",
            TaskResult.Skipped => phase == "Skipped",
            TaskResult.Omitted => phase == "Omitted",
            TaskResult.Daemoned => IsDaemoned(outcome),
            TaskResult.AnySucceeded => outcome.IsLoopGroup && outcome.ChildPhases.Any(p => p == "Succeeded"),
            _ => outcome.IsLoopGroup && outcome.ChildPhases.Count > 0 && outcome.ChildPhases.All(p => p == "Failed"),
        };
    }

    // Argo: a daemoned node counts as fulfilled while its pod runs, so "completed but running" is a daemon.
    private static bool IsDaemoned(TaskOutcome outcome) => outcome.Phase is "Daemoned" or "Running";
}

internal sealed class NotNode(DependsNode operand) : DependsNode
{
    public override bool? Evaluate(Func<string, TaskOutcome> outcomeOf) => !operand.Evaluate(outcomeOf);
}

/// <summary>Kleene AND/OR: a decisive operand (false for AND, true for OR) wins even next to unknowns.</summary>
internal sealed class JunctionNode(bool isAnd, DependsNode left, DependsNode right) : DependsNode
{
    public override bool? Evaluate(Func<string, TaskOutcome> outcomeOf)
    {
        var decisive = !isAnd;
        var l = left.Evaluate(outcomeOf);
        if (l == decisive)
        {
            return decisive;
        }

        var r = right.Evaluate(outcomeOf);
        if (r == decisive)
        {
            return decisive;
        }

        return l is null || r is null ? null : !decisive;
    }
}

/// <summary>Recursive-descent parser: or := and ('||' and)*; and := unary ('&amp;&amp;' unary)*; unary := '!' unary | '(' or ')' | operand.</summary>
internal sealed class DependsParser
{
    private readonly string text;
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private int pos;
    private int depth;

    private DependsParser(string text)
    {
        this.text = text;
    }

    public static (DependsNode Root, IReadOnlySet<string> Names) Parse(string text)
    {
        var parser = new DependsParser(text);
        parser.SkipSpace();
        if (parser.pos >= text.Length)
        {
            throw new ExprError("empty depends expression", 0);
        }

        var root = parser.ParseOr();
        parser.SkipSpace();
        if (parser.pos < text.Length)
        {
            throw new ExprError($"unexpected '{text[parser.pos]}'", parser.pos);
        }

        return (root, parser.names);
    }

    private DependsNode ParseOr()
    {
        var left = ParseAnd();
        while (TryConsume("||"))
        {
            left = new JunctionNode(isAnd: false, left, ParseAnd());
        }

        return left;
    }

    private DependsNode ParseAnd()
    {
        var left = ParseUnary();
        while (TryConsume("&&"))
        {
            left = new JunctionNode(isAnd: true, left, ParseUnary());
        }

        return left;
    }

    private DependsNode ParseUnary()
    {
        if (++depth > Parser.MaxDepth)
        {
            throw new ExprError($"expression is nested more than {Parser.MaxDepth} levels deep", pos);
        }

        try
        {
            return ParseUnaryCore();
        }
        finally
        {
            depth--;
        }
    }

    private DependsNode ParseUnaryCore()
    {
        SkipSpace();
        if (TryConsume("!"))
        {
            return new NotNode(ParseUnary());
        }

        if (TryConsume("("))
        {
            var inner = ParseOr();
            if (!TryConsume(")"))
            {
                throw new ExprError(pos < text.Length ? $"expected ')' but found '{text[pos]}'" : "missing ')'", pos);
            }

            return inner;
        }

        return ParseOperand();
    }

    private TaskOperand ParseOperand()
    {
        SkipSpace();
        var start = pos;
        while (pos < text.Length && IsNameChar(text[pos]))
        {
            pos++;
        }

        if (pos == start)
        {
            throw new ExprError(pos < text.Length ? $"expected a task name but found '{text[pos]}'" : "expected a task name at end of expression", pos);
        }

        var task = text[start..pos];
        names.Add(task);
        if (pos >= text.Length || text[pos] != '.')
        {
            return new TaskOperand(task, TaskResult.Default);
        }

        var resultStart = ++pos;
        while (pos < text.Length && char.IsAsciiLetter(text[pos]))
        {
            pos++;
        }

        var resultName = text[resultStart..pos];
        return Enum.TryParse<TaskResult>(resultName, ignoreCase: false, out var result) && result != TaskResult.Default
            ? new TaskOperand(task, result)
            : throw new ExprError($"unknown task result '.{resultName}' (expected Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded or AllFailed)", resultStart);
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private bool TryConsume(string token)
    {
        SkipSpace();
        if (string.CompareOrdinal(text, pos, token, 0, token.Length) != 0)
        {
            return false;
        }

        pos += token.Length;
        return true;
    }

    private void SkipSpace()
    {
        while (pos < text.Length && char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }
    }
}
