"""The acceptance suite: a shift on the demo shop, every key.

Issue 14 found crashes that hundreds of passing tests missed, because those tests ran on
small hand-made fixtures. Here the fixture is the demo shop itself: the records
``cs-console demo`` shows (``cs_console.server.demo.load_demo``, every time an offset from
now, so the unshipped order within hours of its 48-hour deadline is always there), served
by the reference server on 127.0.0.1, with the console built as ``run_demo`` builds it.

``test_every_key.py`` walks the running console at 160x45, 100x30 and 80x24, in English
and Chinese, and presses every key it finds. The keys are not listed anywhere in this
package: they are read from the live app while it runs (each focus area's and each
dialog's ``active_bindings``, the composer's reply keys), so a binding added to a widget,
a screen or a dialog is pressed by the next run without a change here. A dialog class
added under ``cs_console.ui.screens`` is found by module scan; if no key of the walk opens
it, the coverage test fails and names it. The same test checks that every binding id
``cs-console keys`` prints was pressed. After each key the walk checks that the app is
alive, that no worker ended in error, and that no notification names a Python exception;
a failure names the keys that led to it.

``test_shift.py`` plays one shift with real keys only and checks every write on the
server, exactly once, then restarts the console on the same home and checks that nothing
is sent again.
"""
