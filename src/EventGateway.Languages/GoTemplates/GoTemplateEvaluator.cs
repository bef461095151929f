using System.Text;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>Walks a parsed template against data, following text/template's evaluation rules.</summary>
internal sealed class GoTemplateEvaluator
{
    /// <summary>Rendered parameters become event payload fields; a runaway range must not exhaust memory.</summary>
    public const int MaxOutputChars = 4 * 1024 * 1024;

    private readonly string name;
    private readonly StringBuilder output = new();
    private readonly List<(string Name, object? Value)> vars = [];

    public GoTemplateEvaluator(string name, object? root)
    {
        this.name = name;
        vars.Add(("$", root));
    }

    public string Run(ListNode tree, object? root)
    {
        Walk(root, tree);
        return output.ToString();
    }

    private sealed class LoopSignal(bool isBreak) : Exception
    {
        public bool IsBreak { get; } = isBreak;
    }

    private GoTemplateError Fail(GoTemplateNode node, string reason)
    {
        // Go names a range by its source form and locates it at its pipeline.
        var context = node is BranchNode branch ? $"{{{{{branch.Keyword} {branch.Pipe}}}}}" : node.ToString();
        var position = node is BranchNode b ? b.Pipe.Pos : node.Pos;
        if (context.Length > 20)
        {
            context = context[..20] + "...";
        }

        return new GoTemplateError($"executing \"{name}\" at <{context}>: {reason}", position);
    }

    private void Walk(object? dot, GoTemplateNode node)
    {
        switch (node)
        {
            case TextNode text:
                Write(text.Text);
                break;
            case ListNode list:
                foreach (var child in list.Nodes)
                {
                    Walk(dot, child);
                }

                break;
            case ActionNode action:
                var value = EvalPipeline(dot, action.Pipe);
                if (action.Pipe.Variables.Count == 0)
                {
                    Write(GoTemplateValues.Print(value));
                }

                break;
            case BranchNode { Keyword: "range" } range:
                WalkRange(dot, range);
                break;
            case BranchNode branch:
                WalkIfOrWith(dot, branch);
                break;
            case LoopControlNode control:
                throw new LoopSignal(control.IsBreak);
        }
    }

    private void Write(string text)
    {
        if (output.Length + text.Length > MaxOutputChars)
        {
            throw new GoTemplateError($"output exceeds {MaxOutputChars} characters");
        }

        output.Append(text);
    }

    private void WalkIfOrWith(object? dot, BranchNode branch)
    {
        var mark = vars.Count;
        var value = EvalPipeline(dot, branch.Pipe);
        if (GoTemplateValues.IsTrue(value))
        {
            Walk(branch.Keyword == "with" ? value : dot, branch.Body);
        }
        else if (branch.Else is not null)
        {
            Walk(dot, branch.Else);
        }

        vars.RemoveRange(mark, vars.Count - mark);
    }

    private void WalkRange(object? dot, BranchNode range)
    {
        var mark = vars.Count;
        var value = EvalPipeline(dot, range.Pipe);

        // The pipeline declared the variables with the whole value; each iteration rebinds them.
        vars.RemoveRange(mark, vars.Count - mark);
        IEnumerable<(object? Key, object? Element)> items = value switch
        {
            IReadOnlyList<object?> list => list.Select((e, i) => ((object?)(long)i, e)),
            IReadOnlyDictionary<string, object?> map => map.Keys.Order(StringComparer.Ordinal).Select(k => ((object?)k, map[k])),
            long n => LongRange(n),
            Missing or null => [],
            _ => throw Fail(range, $"range can't iterate over {GoTemplateValues.Print(value)}"),
        };
        var any = false;
        foreach (var (key, element) in items)
        {
            any = true;
            var names = range.Pipe.Variables;
            if (names.Count == 1)
            {
                vars.Add((names[0], element));
            }
            else if (names.Count == 2)
            {
                vars.Add((names[0], key));
                vars.Add((names[1], element));
            }

            try
            {
                Walk(element, range.Body);
            }
            catch (LoopSignal signal) when (signal.IsBreak)
            {
                vars.RemoveRange(mark, vars.Count - mark);
                break;
            }
            catch (LoopSignal)
            {
                // continue: go on with the next element.
            }

            vars.RemoveRange(mark, vars.Count - mark);
        }

        if (!any && range.Else is not null)
        {
            Walk(dot, range.Else);
        }
    }

    private static IEnumerable<(object?, object?)> LongRange(long n)
    {
        for (var i = 0L; i < n; i++)
        {
            yield return (i, i);
        }
    }

    private object? EvalPipeline(object? dot, PipeNode pipe)
    {
        object? value = Missing.Value;
        var final = false;
        foreach (var command in pipe.Commands)
        {
            value = EvalCommand(dot, command, final ? value : Missing.Value, final);
            final = true;

            // Go digs nil interfaces out of each stage, which turns a JSON null into "<no value>".
            value ??= Missing.Value;
        }

        foreach (var variable in pipe.Variables)
        {
            if (pipe.IsAssign)
            {
                var at = vars.FindLastIndex(v => v.Name == variable);
                vars[at] = (variable, value);
            }
            else
            {
                vars.Add((variable, value));
            }
        }

        return value;
    }

    private object? EvalCommand(object? dot, CommandNode command, object? finalValue, bool hasFinal)
    {
        var first = command.Args[0];
        var hasArgs = command.Args.Count > 1 || hasFinal;
        switch (first)
        {
            case IdentifierNode identifier:
                return CallFunction(dot, identifier, command, finalValue, hasFinal);
            case FieldNode field:
                RejectArgs(field, hasArgs);
                return EvalFields(field, field.Fields, dot);
            case VariableNode variable:
                RejectArgs(variable, hasArgs);
                return EvalFields(variable, variable.Fields, Lookup(variable));
            case ChainNode chain:
                RejectArgs(chain, hasArgs);
                return EvalFields(chain, chain.Fields, EvalArg(dot, chain.Target));
            case PipeNode pipe:
                RejectArgs(pipe, hasArgs);
                return EvalPipeline(dot, pipe);
        }

        if (hasArgs)
        {
            throw Fail(first, $"can't give argument to non-function {first}");
        }

        return EvalArg(dot, first);
    }

    private void RejectArgs(GoTemplateNode node, bool hasArgs)
    {
        if (hasArgs)
        {
            var last = node switch
            {
                FieldNode f => f.Fields[^1],
                VariableNode { Fields.Count: > 0 } v => v.Fields[^1],
                ChainNode c => c.Fields[^1],
                _ => node.ToString(),
            };
            throw Fail(node, $"{last} is not a method but has arguments");
        }
    }

    private object? Lookup(VariableNode variable)
    {
        var at = vars.FindLastIndex(v => v.Name == variable.Name);
        return at >= 0 ? vars[at].Value : throw Fail(variable, $"undefined variable: {variable.Name}");
    }

    /// <summary>Field chain on maps: a missing key yields Missing, and fields of Missing stay Missing (missingkey=default).</summary>
    private object? EvalFields(GoTemplateNode node, IReadOnlyList<string> fields, object? receiver)
    {
        foreach (var field in fields)
        {
            switch (receiver)
            {
                case Missing:
                    break;
                case IReadOnlyDictionary<string, object?> map:
                    receiver = map.TryGetValue(field, out var value) ? value : Missing.Value;
                    break;
                case null:
                    throw Fail(node, $"nil pointer evaluating interface {{}}.{field}");
                default:
                    throw Fail(node, $"can't evaluate field {field} in type {GoTemplateValues.GoType(receiver)}");
            }
        }

        return receiver;
    }

    private object? EvalArg(object? dot, GoTemplateNode node) => node switch
    {
        DotNode => dot,
        NilNode => null,
        LiteralNode literal => literal.Value,
        FieldNode field => EvalFields(field, field.Fields, dot),
        VariableNode variable => EvalFields(variable, variable.Fields, Lookup(variable)),
        ChainNode chain => EvalFields(chain, chain.Fields, EvalArg(dot, chain.Target)),
        PipeNode pipe => EvalPipeline(dot, pipe),
        IdentifierNode identifier => CallFunction(dot, identifier, new CommandNode(identifier.Pos, [identifier]), Missing.Value, false),
        _ => throw Fail(node, "can't handle " + node),
    };

    private object? CallFunction(object? dot, IdentifierNode identifier, CommandNode command, object? finalValue, bool hasFinal)
    {
        var function = GoTemplateFunctions.Get(identifier.Name);
        var argNodes = command.Args.Skip(1).ToList();
        var count = argNodes.Count + (hasFinal ? 1 : 0);
        var fixedCount = function.Params.Length;
        if (function.Variadic is null ? count != fixedCount : count < fixedCount)
        {
            var want = function.Variadic is null ? $"{fixedCount}" : $"at least {fixedCount}";
            throw Fail(identifier, $"wrong number of args for {identifier.Name}: want {want} got {count}");
        }

        if (identifier.Name is "and" or "or")
        {
            return ShortCircuit(dot, identifier.Name == "or", argNodes, finalValue, hasFinal);
        }

        var args = new object?[count];
        for (var i = 0; i < count; i++)
        {
            var type = i < fixedCount ? function.Params[i] : function.Variadic!.Value;
            var node = i < argNodes.Count ? argNodes[i] : command;
            var raw = i < argNodes.Count ? EvalArg(dot, argNodes[i]) : finalValue;
            args[i] = Convert(node, raw, type, i < argNodes.Count ? argNodes[i] as LiteralNode : null);
        }

        try
        {
            return function.Body(args);
        }
        catch (Exception e) when (e is GoTemplateError or ExprError)
        {
            throw Fail(command, $"error calling {identifier.Name}: {e.Message}");
        }
    }

    private object? ShortCircuit(object? dot, bool isOr, List<GoTemplateNode> argNodes, object? finalValue, bool hasFinal)
    {
        object? value = Missing.Value;
        foreach (var node in argNodes)
        {
            value = EvalArg(dot, node);
            if (GoTemplateValues.IsTrue(value) == isOr)
            {
                return value;
            }
        }

        return hasFinal ? finalValue : value;
    }

    /// <summary>Go's validateType: converts an argument to the parameter's type or explains why it cannot.</summary>
    private object? Convert(GoTemplateNode node, object? value, Param type, LiteralNode? literal)
    {
        if (type == Param.Raw)
        {
            return value;
        }

        if (value is Missing)
        {
            return type is Param.Any or Param.Map ? null : throw Fail(node, $"invalid value; expected {GoName(type)}");
        }

        switch (type)
        {
            case Param.Any:
                return value;
            case Param.String when value is string:
            case Param.Int when value is long:
            case Param.Float when value is double:
            case Param.Map when value is IReadOnlyDictionary<string, object?> or null:
                return value;
            case Param.Float when literal is not null && value is long l:
                return (double)l;
            case Param.Int when literal is not null && value is double d && Math.Floor(d) == d && Math.Abs(d) < 9.2e18:
                return (long)d;
        }

        if (literal is not null)
        {
            var expected = type switch { Param.Int => "integer", Param.Float => "float", _ => GoName(type) };
            throw Fail(node, $"expected {expected}; found {literal.Source}");
        }

        return value is null && type != Param.Map
            ? throw Fail(node, $"wrong type for value; expected {GoName(type)}; got interface {{}}")
            : throw Fail(node, $"wrong type for value; expected {GoName(type)}; got {GoTemplateValues.GoType(value)}");
    }

    private static string GoName(Param type) => type switch
    {
        Param.String => "string",
        Param.Int => "int",
        Param.Float => "float64",
        Param.Map => "map[string]interface {}",
        _ => "interface {}",
    };
}
