"""Rules: thresholds with duration and repetition, impossible values (owner: rules helper)."""

import pytest


@pytest.mark.django_db
def test_safety_tree_builds(safety_tree):
    st = safety_tree
    assert st.smoke.place == st.rental_house
    assert st.component.transmitter == st.transmitter
    assert len(st.rules) >= 8
