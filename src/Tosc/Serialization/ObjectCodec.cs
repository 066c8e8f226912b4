using Tosc.Live;

namespace Tosc.Serialization;

/// <summary>
/// User types (classes, records, structs, interfaces): written by their runtime type's model, read by the
/// stored type name, which must be allowed by the manager's registry and assignable to <typeparamref name="T"/>.
/// </summary>
internal sealed class ObjectCodec<T> : ValueCodec<T>
{
    public override bool MayHoldNodes => true;

    public override bool Freezes => true;

    public override void Write(ref GraphWriter writer, T value)
    {
        if (value is null)
        {
            writer.Msg.WriteNil();
            return;
        }
        ObjectWriting.Write(ref writer, value);
    }

    public override T Read(ref GraphReader reader)
    {
        if (NodeReading.TryReadNullOrReference<T>(ref reader, out var done))
            return done;
        return NodeReading.As<T>(ObjectReading.Read(ref reader, typeof(T)), reader.Msg.Position);
    }

    public override T ToLive(T value, Manager owner) => value is null ? value : (T)ObjectWriting.ToLive(value, owner);

    public override T Freeze(T value) =>
        value is null || ObjectModel.Of(value) is not { Kind: ObjectKind.Value } model ? value : (T)ObjectWriting.Freeze(value, model);
}

internal static class ObjectWriting
{
    [ThreadStatic]
    private static Dictionary<object, object>? t_converting;

    [ThreadStatic]
    private static int t_liveDepth;

    [ThreadStatic]
    private static int t_freezeDepth;

    public static void Write(ref GraphWriter writer, object value)
    {
        var node = LiveProxies.NodeOf(value);
        var model = node?.Model ?? ObjectModel.For(value.GetType());
        writer.Learn(model.Type);
        switch (model.Kind)
        {
            case ObjectKind.Live:
                if (model.LiveError is not null)
                    throw new ArgumentException(model.LiveError);
                if (!writer.BeginNode(node?.Header, value, out var id))
                {
                    writer.WriteReference(id);
                    return;
                }
                writer.Msg.WriteArrayHeader(3);
                writer.WriteNodeMarker(WireFormat.ObjectNode, id);
                writer.WriteTypeName(model.Name);
                writer.Enter();
                WriteProperties(ref writer, model, value, node, node?.Unknown);
                writer.Leave();
                return;
            case ObjectKind.Value:
                if (model.ValueError is not null)
                    throw new ArgumentException(model.ValueError);
                writer.Msg.WriteArrayHeader(3);
                writer.Msg.WriteExtension(WireFormat.ValueObject, [0]);
                writer.WriteTypeName(model.Name);
                writer.Enter();
                writer.ValueDepth++;
                WriteProperties(ref writer, model, value, null, null);
                writer.ValueDepth--;
                writer.Leave();
                return;
            default:
                throw new ArgumentException($"{TypeNames.Display(model.Type)} cannot be stored: it is abstract.");
        }
    }

    private static void WriteProperties(ref GraphWriter writer, ObjectModel model, object value, ObjectNode? node, UnknownMember[]? unknown)
    {
        var properties = model.Properties;
        writer.Msg.WriteMapHeader(properties.Length + (unknown?.Length ?? 0));
        for (var i = 0; i < properties.Length; i++)
        {
            var property = properties[i];
            writer.Msg.WriteString(property.NameBytes);
            // A live object's values are read from its fields, not through its getters, which would note reads.
            property.Codec.WriteBoxed(ref writer, node is null ? property.GetFromPlain(value) : node.Get(i));
        }
        foreach (var member in unknown ?? [])
        {
            writer.Msg.WriteString(member.Name);
            writer.Msg.WriteBytes(member.Value);
        }
    }

    /// <summary>
    /// The live form of a user object inside <paramref name="owner"/>: itself when it is already live there,
    /// adopted when it belongs to no graph, otherwise a new proxy holding a live copy of its properties.
    /// Immutable values are frozen (<see cref="Freeze"/>).
    /// </summary>
    public static object ToLive(object value, Manager owner)
    {
        var node = LiveProxies.NodeOf(value);
        if (node is not null)
        {
            if (ReferenceEquals(node.Header.Owner, owner))
                return value;
            if (node.Header.Owner is null && node.Ready)
            {
                node.Header.Join(owner);
                for (var i = 0; i < node.Model.Properties.Length; i++)
                    node.Put(i, node.Model.Properties[i].Codec.ToLiveBoxed(node.Get(i), owner));
                return value;
            }
        }
        var model = node?.Model ?? ObjectModel.For(value.GetType());
        if (model.Kind == ObjectKind.Value)
            return Freeze(value, model);
        model.ThrowIfNotLive();
        var top = t_converting is null;
        t_converting ??= new Dictionary<object, object>(ReferenceEqualityComparer.Instance);
        // One level of recursion per nested object: a chain deeper than this thread holds is converted again on a
        // deep one (DeepValues), up to ManagerOptions.MaxDepth.
        if (++t_liveDepth > DeepValues.Limit)
        {
            t_liveDepth--;
            if (top)
                t_converting = null;
            throw DeepValues.TooDeep(stored: false);
        }
        try
        {
            if (t_converting.TryGetValue(value, out var done))
                return done;
            if (t_converting.Count > 100_000)
                throw new ArgumentException("The value holds more than 100,000 objects to convert at once; store it in parts.");
            var fresh = new ObjectNode(model) { Unknown = node?.Unknown };
            fresh.Join(owner);
            var proxy = model.CreateProxy(fresh);
            fresh.Instance = proxy;
            t_converting.Add(value, proxy);
            var properties = model.Properties;
            var slots = new object?[properties.Length];
            for (var i = 0; i < properties.Length; i++)
            {
                var current = node is { Ready: true } ? node.Get(i) : properties[i].GetFromPlain(value);
                slots[i] = properties[i].Codec.ToLiveBoxed(current ?? properties[i].DefaultValue, owner);
            }
            fresh.ReplaceContent(slots);
            return proxy;
        }
        finally
        {
            t_liveDepth--;
            if (top)
                t_converting = null;
        }
    }

    /// <summary>
    /// An immutable value as a graph holds it: rebuilt with read-only copies of the collections inside (the form every
    /// reader decodes), so the caller's own lists cannot change what the graph shows without the store ever seeing it.
    /// Values holding no collection or object are kept as they are.
    /// </summary>
    public static object Freeze(object value, ObjectModel model)
    {
        if (model.ValueError is not null)
            throw new ArgumentException(model.ValueError);
        if (!model.HoldsCollections)
            return value;
        var properties = model.Properties;
        var values = new object?[properties.Length];
        var present = new bool[properties.Length];
        // A value can only be cyclic through a collection the caller changed after building it: fail as writing it would.
        if (t_freezeDepth >= WireFormat.MaxDepth)
            throw new ArgumentException($"The value nests deeper than {WireFormat.MaxDepth} levels (is an immutable value cyclic?).");
        t_freezeDepth++;
        try
        {
            for (var i = 0; i < properties.Length; i++)
            {
                values[i] = properties[i].Codec.FreezeBoxed(properties[i].GetFromPlain(value));
                present[i] = true;
            }
            return model.CreateValue(values, present);
        }
        catch (System.Reflection.TargetInvocationException e)
        {
            throw new ArgumentException($"The constructor of {TypeNames.Display(model.Type)} rejected a read-only copy of its own values: {e.InnerException?.Message}", e.InnerException ?? e);
        }
        finally
        {
            t_freezeDepth--;
        }
    }
}

internal static class ObjectReading
{
    /// <summary>Reads an object or immutable value node (after nil and references were handled).</summary>
    public static object Read(ref GraphReader reader, Type declared)
    {
        var context = reader.Context;
        var offset = reader.Msg.Position;
        if (reader.Msg.PeekType() != MessagePackType.Array)
            throw new ToscDataException($"Expected an object but found {reader.Msg.PeekType()} (offset {offset}).");
        if (reader.Msg.ReadArrayHeader() != 3)
            throw new ToscDataException($"An object node must have 3 elements (offset {offset}).");
        var (kind, id) = ReadMarker(ref reader.Msg, offset);
        var name = context.ReadTypeName(ref reader.Msg);
        var type = context.Registry.Resolve(name, offset);
        if (!declared.IsAssignableFrom(type))
            throw new ToscDataException($"The stored {name} cannot stand where {TypeNames.Display(declared)} is declared (offset {offset}).");
        var model = ObjectModel.For(type);
        if (kind == WireFormat.ValueObject || model.Kind == ObjectKind.Value)
            return ReadValue(ref reader, model);
        return context.BuildsLive ? ReadLive(ref reader, model, id, offset) : ReadPlain(ref reader, model, id, offset);
    }

    private static (sbyte Kind, long Id) ReadMarker(ref WireReader msg, int offset)
    {
        var (kind, length) = msg.ReadExtensionHeader();
        var bytes = msg.ReadRaw(length);
        return kind switch
        {
            WireFormat.ObjectNode when length == 8 => (kind, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes)),
            WireFormat.ValueObject => (kind, 0),
            _ => throw new ToscDataException($"Expected an object marker but found extension {kind} of {length} bytes (offset {offset})."),
        };
    }

    private static object ReadLive(ref GraphReader reader, ObjectModel model, long id, int offset)
    {
        var context = reader.Context;
        model.ThrowIfNotLive();
        var reused = context.Reuse<ObjectNode>(id) is { } candidate && candidate.Model == model ? candidate : null;
        ObjectNode node;
        if (reused is not null)
        {
            node = reused;
        }
        else
        {
            node = new ObjectNode(model) { Id = id, Owner = context.Owner };
            node.Instance = model.CreateProxy(node);
        }
        context.Remember(id, node.Instance, offset);
        var slots = new object?[model.Properties.Length];
        List<UnknownMember>? unknown = null;
        var present = ReadProperties(ref reader, model, slots, ref unknown);
        for (var i = 0; i < slots.Length; i++)
        {
            if (!present[i])
                slots[i] = model.Properties[i].Codec.ToLiveBoxed(model.Properties[i].InitialValue(node.Instance), context.Owner!);
        }
        var content = new ObjectContent(slots, unknown?.ToArray());
        if (reused is not null)
            context.SwapLater(reused, content);
        else
            node.ReplaceContent(content);
        return node.Instance;
    }

    private static object ReadPlain(ref GraphReader reader, ObjectModel model, long id, int offset)
    {
        var instance = model.CreatePlain();
        reader.Context.Remember(id, instance, offset);
        var values = new object?[model.Properties.Length];
        List<UnknownMember>? ignored = null;
        var present = ReadProperties(ref reader, model, values, ref ignored, keepUnknown: false);
        for (var i = 0; i < values.Length; i++)
        {
            if (present[i])
                model.Properties[i].SetOnPlain(instance, values[i]);
        }
        return instance;
    }

    private static object ReadValue(ref GraphReader reader, ObjectModel model)
    {
        if (model.ValueError is not null)
            throw new ArgumentException(model.ValueError);
        var context = reader.Context;
        context.ValueDepth++;
        var values = new object?[model.Properties.Length];
        List<UnknownMember>? ignored = null;
        var present = ReadProperties(ref reader, model, values, ref ignored, keepUnknown: false);
        context.ValueDepth--;
        for (var i = 0; i < values.Length; i++)
        {
            if (!present[i])
                values[i] = model.Properties[i].DefaultValue;
        }
        try
        {
            return model.CreateValue(values, present);
        }
        catch (System.Reflection.TargetInvocationException e)
        {
            throw new ToscDataException($"The constructor of {TypeNames.Display(model.Type)} rejected the stored values: {e.InnerException?.Message}", e.InnerException ?? e);
        }
    }

    /// <summary>
    /// Reads a property map. Members the class does not have are skipped, or with <paramref name="keepUnknown"/> (live
    /// objects) kept as encoded in <paramref name="unknown"/>, to be written back unchanged.
    /// </summary>
    private static bool[] ReadProperties(ref GraphReader reader, ObjectModel model, object?[] values, ref List<UnknownMember>? unknown, bool keepUnknown = true)
    {
        var context = reader.Context;
        var offset = reader.Msg.Position;
        var count = reader.Msg.ReadMapHeader();
        var present = new bool[values.Length];
        context.Enter(offset);
        for (var i = 0; i < count; i++)
        {
            var name = reader.Msg.ReadStringSpan();
            var index = model.IndexOf(name, i);
            if (index < 0)
            {
                // A member of another version of the class (newer, or one that removed it).
                if (keepUnknown)
                    (unknown ??= []).Add(new UnknownMember(name.ToArray(), reader.Msg.ReadRawValue().ToArray()));
                else
                    reader.Msg.Skip();
                continue;
            }
            values[index] = model.Properties[index].Codec.ReadBoxed(ref reader) ?? model.Properties[index].DefaultValue;
            present[index] = true;
        }
        context.Leave();
        return present;
    }
}
