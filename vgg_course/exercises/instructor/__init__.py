"""Instructor-only material: the exercises' solution functions and hidden test cases.

One module per lesson (named like ``vgg_course.exercises.<lesson>``) defines, per exercise, a
plain function named like the exercise's ``answer`` with ``### BEGIN/END SOLUTION`` comments
(``vgg_course.exercises.solutions`` makes the lesson's answer cell from its source), and
optionally ``HIDDEN`` (exercise name -> :class:`~vgg_course.exercises.parts.Hidden`: extra
parts and the cases that test them). ``python -m vgg_course release`` leaves this package out
of the student build, so a release holds no solution and no hidden case.
"""
