"""The AirAuth desktop GUI (PyQt5 + pyqtgraph), launched with ``authapp gui``.

It is a front end over the same pieces as the CLI: frames from ``capture.sources`` (a live
Leap Motion or replayed recordings) or the mouse on a drawing pad, gestures cut by
``capture.segmentation``, every decision from ``authapp.services.AuthService``, and
experiments from ``authapp.harness.experiment``. Device and service work runs off the GUI
thread; every error reaches the window as a message.
"""
