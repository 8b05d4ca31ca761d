"""Instructor-only material: the exercises' solution cells and hidden test cases.

One module per lesson (named like ``vgg_course.exercises.<lesson>``) defines
``SOLUTIONS`` (exercise name -> the solution cell, with ``### BEGIN/END SOLUTION``
markers) and ``HIDDEN`` (exercise name -> :class:`~vgg_course.exercises.parts.Hidden`:
extra parts and the cases that test them). ``python -m vgg_course release`` leaves this
package out of the student build, so a release holds no solution and no hidden case.
"""
