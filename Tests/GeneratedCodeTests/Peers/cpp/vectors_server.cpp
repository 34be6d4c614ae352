// A ZeroC Ice (C++11 mapping) server for Vectors.ice, for Floe's interop tests.
// Built by Tools/scripts/build-cpp-peer.sh; prints the port it listens on, then serves until
// shutdown() is called.
#include <Ice/Ice.h>
#include <algorithm>
#include <cctype>
#include <iostream>
#include <mutex>
#include <sstream>

#include "ServerOnly.h"

using namespace std;
using namespace Vectors;

class TesterI : public Tester
{
public:
    void ping(const Ice::Current&) override {}

    string opPrimitives(bool b, Ice::Byte y, short s, int i, long long l, float f, double d, string str, double& dout,
                        const Ice::Current&) override
    {
        ostringstream out;
        out << (b ? "True" : "False") << "|" << int(y) << "|" << s << "|" << i << "|" << l << "|" << f << "|" << d << "|"
            << str;
        dout = d * 2;
        return out.str();
    }

    ByteSeq opByteSeq(ByteSeq seq, const Ice::Current&) override { return seq; }

    Point opStruct(Point p, Person q, Person& r, const Ice::Current&) override
    {
        string upper = q.name;
        transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return toupper(c); });
        r = Person{upper, q.age + 1, Color::Blue};
        return Point{p.y, p.x};
    }

    Color opEnum(Color c, Sparse s, Sparse& so, const Ice::Current&) override
    {
        so = s;
        return c;
    }

    StringIntDict opDict(StringIntDict d, const Ice::Current&) override
    {
        for (auto& entry : d) entry.second *= 10;
        return d;
    }

    Ice::optional<int> opOptional(Ice::optional<int> i, Ice::optional<string> s, Ice::optional<Point>,
                                  Ice::optional<IntSeq>, Ice::optional<Color>, Ice::optional<StringIntDict>,
                                  Ice::optional<string>& so, const Ice::Current&) override
    {
        if (!i) return Ice::nullopt;
        so = s;
        return *i + 1;
    }

    shared_ptr<Node> opNode(shared_ptr<Node> n, const Ice::Current&) override { return n; }
    shared_ptr<Node> opNodeSliced(shared_ptr<Node> n, const Ice::Current&) override { return n; }
    BaseSeq opBaseSeq(BaseSeq s, const Ice::Current&) override { return s; }
    BaseSeq opBaseSeqCompact(BaseSeq s, const Ice::Current&) override { return s; }

    shared_ptr<Base> opUnknownSlice(const Ice::Current&) override
    {
        return make_shared<Hidden>("base-part", 42, "hidden-part");
    }

    shared_ptr<Compact> opCompact(shared_ptr<Compact> c, const Ice::Current&) override
    {
        return make_shared<Compact>(c ? c->v + 1 : 1);
    }

    shared_ptr<WithOptional> opWithOptional(shared_ptr<WithOptional> w, const Ice::Current&) override { return w; }

    void opThrow(int code, const Ice::Current&) override
    {
        if (code == 0) throw BaseError("base reason");
        throw DerivedError("derived reason", code);
    }

    void opThrowSliced(int code, const Ice::Current&) override
    {
        if (code == 0) throw BaseError("base reason");
        if (code == 1) throw DerivedError("derived reason", code);
        throw HiddenError("hidden reason", code, "extra data");
    }

    void opUndeclared(int kind, const Ice::Current&) override
    {
        if (kind == 1) throw OtherError("not declared");
        throw Ice::UnknownException(__FILE__, __LINE__, "an unknown exception text");
    }

    shared_ptr<Ice::ObjectPrx> opProxy(shared_ptr<Ice::ObjectPrx> p1, shared_ptr<Ice::ObjectPrx>,
                                       shared_ptr<Ice::ObjectPrx>, const Ice::Current&) override
    {
        return p1;
    }

    string opContext(string key, const Ice::Current& current) override
    {
        auto found = current.ctx.find(key);
        return found == current.ctx.end() ? "" : found->second;
    }

    int opIdempotent(const Ice::Current&) override { return 7; }

    void opIdempotentFail(const Ice::Current&) override
    {
        throw Ice::UnknownLocalException(__FILE__, __LINE__, "transient failure");
    }

    void opOneway(string s, const Ice::Current&) override
    {
        lock_guard<mutex> lock(_mutex);
        _oneways.push_back(std::move(s));
    }

    StringSeq onewaysReceived(const Ice::Current&) override
    {
        lock_guard<mutex> lock(_mutex);
        return _oneways;
    }

    StringSeq opStringSeq(StringSeq s, StringSeq& reversed, const Ice::Current&) override
    {
        reversed.assign(s.rbegin(), s.rend());
        return s;
    }

    DoubleSeq opDoubleSeq(DoubleSeq s, const Ice::Current&) override { return s; }

    PersonSeq opPersonSeq(PersonSeq s, const Ice::Current&) override { return s; }

    int opCallback(shared_ptr<TesterPrx> cb, const Ice::Current& current) override
    {
        return cb->ice_fixed(current.con)->opIdempotent() + 1;
    }

    int opCallbackThrough(shared_ptr<TesterPrx> cb, const Ice::Current&) override { return cb->opIdempotent() + 2; }

    void closeConnection(const Ice::Current& current) override
    {
        current.con->close(Ice::ConnectionClose::Gracefully);
    }

    void shutdown(const Ice::Current& current) override { current.adapter->getCommunicator()->shutdown(); }

private:
    mutex _mutex;
    StringSeq _oneways;
};

int main(int argc, char* argv[])
{
    try
    {
        Ice::InitializationData init;
        init.properties = Ice::createProperties(argc, argv);
        // Floe sends cyclic graphs in the tests; 3.7.5+ C++ refuses them unless told otherwise.
        init.properties->setProperty("Ice.AcceptClassCycles", "1");
        init.properties->setProperty("Ice.MessageSizeMax", "65536");
        // opCallback waits for a reply that a second server thread must read.
        init.properties->setProperty("Ice.ThreadPool.Server.SizeMax", "4");
        Ice::CommunicatorHolder holder(argc, argv, init);
        auto adapter = holder->createObjectAdapterWithEndpoints("Tester", "tcp -h 127.0.0.1 -p 0");
        adapter->add(make_shared<TesterI>(), Ice::stringToIdentity("tester"));
        adapter->activate();
        auto info = dynamic_pointer_cast<Ice::TCPEndpointInfo>(adapter->getEndpoints().front()->getInfo());
        cout << info->port << endl;
        holder->waitForShutdown();
    }
    catch (const std::exception& e)
    {
        cerr << e.what() << endl;
        return 1;
    }
    return 0;
}
